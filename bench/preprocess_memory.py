"""Peak memory of decoding and preprocessing huge images: one-shot resize vs stripes.

    .venv/bin/python bench/preprocess_memory.py [--size 7000] [--images 4] \
        [--workers 4]

Writes ``--images`` PNGs of ``--size`` x ``--size`` pixels (a smooth pattern: tens of KB
each, as a hostile upload would be), then, each in a fresh process, decodes and preprocesses
them in a pool of ``--workers`` threads (as intake and the scoring loop do) with

- ``full``: the one-shot path (``preprocess_tensor(image_to_tensor(img))``: the whole image
  as float32 before the resize), what every image took before the stripes;
- ``stripes``: ``scorer.preprocess.preprocess`` (large images resized in stripes of rows),

and prints the peak resident memory of each process (``ru_maxrss``) over its resident memory
before the first image (torch and PIL imported), the
wall time, and whether both give the same tensors (they must: ``torch.equal``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_images(folder: Path, size: int, n: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    paths = []
    y, x = np.mgrid[0:size, 0:size]
    for k in range(n):
        rgb = np.stack([(x // 7 + k) % 256, (y // 5) % 256, ((x + y) // 11) % 256], axis=-1)
        path = folder / f"huge{k}.png"
        Image.fromarray(rgb.astype(np.uint8)).save(path, optimize=True)
        paths.append(path)
    return paths


def current_rss_kib() -> int:
    """Resident memory now (not the peak so far, which imports may have set)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def run(mode: str, paths: list[str], workers: int) -> dict:
    """In this (fresh) process: preprocess every image; peak RSS over the baseline."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from scorer.preprocess import image_to_tensor, load_image, preprocess, preprocess_tensor

    torch.set_num_threads(1)
    base = current_rss_kib()

    def one(path: str) -> str:
        img = load_image(path, max_pixels=100_000_000)
        out = preprocess(img) if mode == "stripes" else preprocess_tensor(image_to_tensor(img))
        return hashlib.sha256(out.numpy().tobytes()).hexdigest()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = list(pool.map(one, paths))
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "peak_mib": (peak - base) / 1024, "wall_s": wall, "digests": digests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=7000)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--make", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child[0], args.child[1:], args.workers)))
        return
    if args.make:
        make_images(Path(args.make), args.size, args.images)
        return
    # Every step runs in its own process, started from this one, which stays small: Linux
    # starts a child's peak RSS (ru_maxrss) at its parent's peak at the fork.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, __file__, "--size", str(args.size), "--images", str(args.images)]
            + ["--make", tmp],
            check=True,
        )
        paths = sorted(Path(tmp).glob("huge*.png"))
        kib = [p.stat().st_size // 1024 for p in paths]
        print(f"{args.images} PNGs of {args.size}x{args.size}: {kib} KiB, {args.workers} threads")
        results = {}
        for mode in ("full", "stripes"):
            out = subprocess.run(
                [sys.executable, __file__, "--workers", str(args.workers), "--child", mode]
                + [str(p) for p in paths],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            r = results[mode]
            print(f"{mode:8s} peak +{r['peak_mib']:7.0f} MiB   wall {r['wall_s']:6.2f} s")
        same = results["full"]["digests"] == results["stripes"]["digests"]
        print(f"identical tensors: {same}")


if __name__ == "__main__":
    main()
