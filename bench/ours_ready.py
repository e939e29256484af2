"""Time our scorer from process start to a loaded, checked model, then exit.

    .venv/bin/python bench/ours_ready.py --checkpoint CKPT --arch ViT-H-14 --precision bf16 \
        [--lazy-text] [--weights-dir DIR]

Prints one JSON line: ``import_s`` (python + torch + open_clip + scorer imports),
``load_s`` (``load_scorer``: build on meta, mmap the checkpoint, assign, cast, check; with
``--lazy-text`` without the text tower, as ``python -m scorer benchmark`` and the worker load),
``ready_s`` (both, from the first line of this script) and ``maxrss_mib``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--arch", default="ViT-H-14")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--lazy-text", action="store_true", help="the benchmark CLI's load")
    parser.add_argument(
        "--weights-dir",
        help="load through the prepared safetensors copy kept there (made on first use), as "
        "the app, the CLI and the worker do with <data_dir>/weights",
    )
    args = parser.parse_args()

    from scorer import load_scorer

    t_imported = time.perf_counter()
    scorer = load_scorer(
        checkpoint=args.checkpoint,
        arch=args.arch,
        precision=args.precision,
        lazy_text=args.lazy_text,
        **({"weights_dir": args.weights_dir} if args.weights_dir else {}),
    )
    t_ready = time.perf_counter()
    print(
        json.dumps(
            {
                "precision": scorer.precision,
                "lazy_text": args.lazy_text,
                "prepared": bool(args.weights_dir),
                "import_s": t_imported - T_START,
                "load_s": t_ready - t_imported,
                "ready_s": t_ready - T_START,
                "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
