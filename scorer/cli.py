"""``python -m scorer``: score, rank, compare and benchmark from the command line.

Settings come from the environment (``HPS_*``); flags override them. User errors print one
line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .benchmark import run_benchmark
from .errors import HPSError
from .model import load_scorer_from_settings
from .prompts import load_prompt_sets
from .protocol import index_ranges
from .settings import PRECISIONS, VERSIONS, ScorerSettings


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", choices=VERSIONS, help="HPS version (env HPS_VERSION)")
    parser.add_argument("--checkpoint", help="checkpoint path (env HPS_CHECKPOINT)")
    parser.add_argument("--arch", help="open_clip model name or config JSON (env HPS_ARCH)")
    parser.add_argument("--precision", choices=PRECISIONS, help="(env HPS_PRECISION)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N (env HPS_DEVICE)")
    parser.add_argument("--batch-size", type=int, help="images per forward pass")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scorer", description="HPS v2 scorer")
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score images against one prompt")
    score.add_argument("images", nargs="+", metavar="IMAGE")
    score.add_argument("--prompt", required=True)
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.add_argument("--rank", action="store_true", help="print best first")
    _model_flags(score)

    compare = sub.add_parser("compare", help="preference probability of image A over B")
    compare.add_argument("image_a", metavar="A")
    compare.add_argument("image_b", metavar="B")
    compare.add_argument("--prompt", required=True)
    compare.add_argument("--json", action="store_true")
    _model_flags(compare)

    bench = sub.add_parser("benchmark", help="score a benchmark folder (official statistics)")
    bench.add_argument("folder", metavar="DIR")
    bench.add_argument("--prompts", help="combined JSON or folder of <style>.json (HPS_PROMPTS)")
    bench.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    bench.add_argument("--workers", type=int, help="decode threads (0: decode inline)")
    _model_flags(bench)
    return parser


def _settings(args: argparse.Namespace, environ=None) -> ScorerSettings:
    return ScorerSettings.from_env(environ).replace(
        version=args.version,
        checkpoint=args.checkpoint,
        arch=args.arch,
        precision=args.precision,
        device=args.device,
        batch_size=args.batch_size,
    )


def _load(settings: ScorerSettings, *, lazy_text: bool = False):
    scorer = load_scorer_from_settings(settings, lazy_text=lazy_text)
    print(
        f"HPS {scorer.version} ({scorer.arch}, {scorer.precision} on {scorer.device}) "
        f"ready in {scorer.load_seconds:.2f}s",
        file=sys.stderr,
    )
    return scorer


def cmd_score(args: argparse.Namespace) -> int:
    scorer = _load(_settings(args))
    scores = scorer.score(args.images, args.prompt, names=args.images)
    if args.json:
        out = {
            "prompt": args.prompt,
            "images": args.images,
            "scores": scores,
            **{k: v for k, v in scorer.describe().items() if k != "device"},
        }
        print(json.dumps(out))
        return 0
    order = range(len(scores))
    if args.rank:
        order = sorted(order, key=lambda i: -scores[i])
    for i in order:
        print(f"{scores[i]:8.4f}  {args.images[i]}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    scorer = _load(_settings(args))
    result = scorer.compare(
        args.image_a, args.image_b, args.prompt, names=(args.image_a, args.image_b)
    )
    if args.json:
        print(
            json.dumps(
                {
                    "prompt": args.prompt,
                    "a": args.image_a,
                    "b": args.image_b,
                    "score_a": result.score_a,
                    "score_b": result.score_b,
                    "prob_a": result.prob_a,
                    "preferred": result.preferred,
                    "version": scorer.version,
                }
            )
        )
        return 0
    print(f"A {result.score_a:8.4f}  {args.image_a}")
    print(f"B {result.score_b:8.4f}  {args.image_b}")
    print(f"P(A preferred) = {result.prob_a:.4f}: HPS {scorer.version} prefers {result.preferred}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    settings = _settings(args)
    prompts = load_prompt_sets(
        args.prompts or settings.prompts,
        expect_count=settings.prompt_count_check,
        hub_cache=settings.hub_cache,
    )
    text_cache = settings.writable_data_path() / "text_cache"
    # the text tower loads only if a prompt is missing from the persisted text cache
    scorer = _load(settings, lazy_text=True)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - started, 1e-9)
        eta = (total - done) / rate if rate else 0.0
        print(
            f"\rscored {done}/{total} ({rate:.2f} img/s, ETA {eta:.0f}s)", end="", file=sys.stderr
        )

    result = run_benchmark(
        scorer,
        args.folder,
        prompts,
        batch_size=settings.batch_size,
        workers=args.workers,
        progress=progress,
        text_cache=text_cache,
    )
    print(file=sys.stderr)
    for style, indices in result.missing.items():
        if indices:
            print(
                f"missing {style}: {len(indices)} images ({index_ranges(indices)})",
                file=sys.stderr,
            )
    for path, reason in result.unreadable.items():
        print(f"unreadable: {path}: {reason}", file=sys.stderr)
    print(result.table())
    if args.json:
        Path(args.json).write_text(json.dumps(result.as_dict()))
    return 1 if result.unreadable else 0


COMMANDS = {"score": cmd_score, "compare": cmd_compare, "benchmark": cmd_benchmark}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HPSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
