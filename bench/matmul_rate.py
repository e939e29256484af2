"""Matmul throughput per dtype on this CPU, at the shape of a ViT-H-14 MLP layer.

    .venv/bin/python bench/matmul_rate.py --threads 2

``F.linear`` of a [batch x 257 tokens, 1280] input with a [5120, 1280] weight (batch 8 by
default), fp32 / bf16 / fp16, best of ``--repeats`` after one warm-up; prints ms per call
and GFLOPS. The numbers behind "bf16 matmuls run ~2.7x fp32" and "fp16 on CPU is slow"
(BENCHMARKS.md, scorer/bf16.py).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch * 257, 1280, generator=gen)
    w = torch.randn(5120, 1280, generator=gen)
    flops = 2 * x.shape[0] * x.shape[1] * w.shape[0]
    print(f"threads {torch.get_num_threads()}, [{x.shape[0]}x1280] @ [1280x5120]")
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        xx, ww = x.to(dtype), w.to(dtype)
        with torch.inference_mode():
            F.linear(xx, ww)
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                F.linear(xx, ww)
                best = min(best, time.perf_counter() - t0)
        print(f"{str(dtype):15s} {best * 1000:8.1f} ms  {flops / best / 1e9:6.0f} GFLOPS")


if __name__ == "__main__":
    main()
