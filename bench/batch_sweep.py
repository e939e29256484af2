"""Image-encoding time per image by batch size and thread count, in one process.

    .venv/bin/python bench/batch_sweep.py --precision bf16 --images bench/work/images-12 \
        --count 16 --batch-sizes 1,2,4,8,16 --threads 1,2

Loads our scorer once, preprocesses ``--count`` images of the folder, then for each batch
size (at the default thread count) and each thread count (at the best batch size) encodes
all of them ``--repeats`` times and prints the best wall seconds per image and the process
CPU seconds per image of that pass (the machine is shared: the minimum is the least
disturbed). One warm-up batch first. Image encoding only: decode, preprocessing and text are
outside these numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(HERE / "work" / "ViT-H-14-random.pt"))
    parser.add_argument("--arch", default="ViT-H-14")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--images", type=Path, default=HERE / "work" / "images-12")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    from scorer import load_scorer

    scorer = load_scorer(checkpoint=args.checkpoint, arch=args.arch, precision=args.precision)
    files = sorted(args.images.glob("*/*.jpg"))[: args.count]
    pixels = torch.stack([scorer.preprocess(f) for f in files])
    default_threads = torch.get_num_threads()

    def per_image(batch_size: int) -> dict:
        best = None
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            for start in range(0, len(pixels), batch_size):
                scorer.encode_images(pixels[start : start + batch_size])
            wall = (time.perf_counter() - t0) / len(pixels)
            cpu = (time.process_time() - c0) / len(pixels)
            if best is None or wall < best["wall_s"]:
                best = {"wall_s": wall, "cpu_s": cpu}
        return best

    scorer.encode_images(pixels[:2])  # warm-up
    results = {"precision": scorer.precision, "images": len(pixels), "by_batch": {}}

    def show(batch_size: int, threads: int, r: dict) -> None:
        print(
            f"batch {batch_size:>3} threads {threads}: {r['wall_s']:.3f} s/image wall, "
            f"{r['cpu_s']:.3f} CPU s/image",
            flush=True,
        )

    for bs in (int(b) for b in args.batch_sizes.split(",")):
        results["by_batch"][bs] = per_image(bs)
        show(bs, default_threads, results["by_batch"][bs])
    best = min(results["by_batch"], key=lambda b: results["by_batch"][b]["wall_s"])
    results["by_threads"] = {}
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        results["by_threads"][threads] = per_image(best)
        show(best, threads, results["by_threads"][threads])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
