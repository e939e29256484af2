"""``python -m leaderboard export --format csv|json [--version v2.1] [--output FILE]``."""

from __future__ import annotations

import argparse
import sys

from scorer.errors import HPSError
from scorer.settings import VERSIONS

from .export import to_csv, to_json
from .repository import Store
from .settings import StoreSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leaderboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="print or write the leaderboard of one version")
    p.add_argument("--format", choices=("csv", "json"), default="json")
    p.add_argument("--version", choices=VERSIONS, help="HPS version (default HPS_VERSION)")
    p.add_argument("--include-partial", action="store_true", help="add partial rows")
    p.add_argument("--verified-only", action="store_true", help="leave out reported rows")
    p.add_argument("--output", "-o", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        settings = StoreSettings.from_env()
        with Store.open(settings) as store:
            rows = store.leaderboard(
                args.version or settings.version,
                include_partial=args.include_partial,
                verified_only=args.verified_only,
            )
    except HPSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = to_csv(rows) if args.format == "csv" else to_json(rows) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
