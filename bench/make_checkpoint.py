"""Make a random-weight ViT-H-14 checkpoint in the published HPS format.

    .venv/bin/python bench/make_checkpoint.py            # -> bench/work/ViT-H-14-random.pt

The file is ``{'state_dict': {name: fp16 tensor}}``, as ``HPS_v2_compressed.pt`` and
``HPS_v2.1_compressed.pt`` are (the real ones cannot be downloaded here). Weights come from
open_clip's own initialisation under ``torch.no_grad`` (seeded), so activations have the
scale of a freshly built CLIP; the logit scale is set to ln(100) as in trained CLIP/HPS
checkpoints. Built once (fp32, ~4 GB transient), converted tensor by tensor to fp16, saved.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "work" / "ViT-H-14-random.pt"


def make_checkpoint(out: Path, *, arch: str = "ViT-H-14", seed: int = 0) -> Path:
    import open_clip

    torch.manual_seed(seed)
    logging.disable(logging.WARNING)  # "No pretrained weights loaded": intended
    try:
        with torch.no_grad():
            model = open_clip.create_model(arch, pretrained=None)
            model.logit_scale.fill_(math.log(100.0))
    finally:
        logging.disable(logging.NOTSET)
    state = model.state_dict()
    del model
    fp16 = {}
    for name in list(state):
        tensor = state.pop(name)
        fp16[name] = tensor.half() if tensor.is_floating_point() else tensor
        del tensor
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({"state_dict": fp16}, tmp)
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--arch", default="ViT-H-14")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    args = parser.parse_args()
    if args.out.is_file() and not args.force:
        print(f"{args.out} exists (use --force to rebuild)")
        return
    t0 = time.perf_counter()
    path = make_checkpoint(args.out, arch=args.arch, seed=args.seed)
    size = path.stat().st_size / 2**30
    print(f"wrote {path} ({size:.2f} GiB) in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
