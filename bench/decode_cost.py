"""Decode + exact HPS preprocessing cost per image, single-threaded and in a thread pool.

    .venv/bin/python bench/decode_cost.py bench/work/images-12

This is the work the benchmark runner overlaps with the model (``--workers``); it bounds
what the overlap can save per image.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from scorer.preprocess import load_and_preprocess

    files = sorted(args.folder.glob("*/*.jpg"))
    load_and_preprocess(files[0])  # warm-up
    t0 = time.perf_counter()
    for f in files:
        load_and_preprocess(f)
    serial = (time.perf_counter() - t0) / len(files)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(load_and_preprocess, files))
    pooled = (time.perf_counter() - t0) / len(files)
    print(
        f"{len(files)} images: {serial * 1000:.1f} ms/image inline, "
        f"{pooled * 1000:.1f} ms/image with {args.workers} threads"
    )


if __name__ == "__main__":
    main()
