"""A tiny random-weight open_clip architecture, saved in the HPS checkpoint format.

Used by the tests and by ``scripts/make_tiny_checkpoint.py`` so the whole pipeline (load,
preprocess, score, benchmark, app) runs on CPU in seconds without the real weights.
Same code path as ViT-H-14: only the numbers in the config differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import open_clip
import torch

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


def make_tiny_checkpoint(
    folder: str | Path,
    *,
    seed: int = 0,
    name: str = "tiny-hps",
    dtype: torch.dtype = torch.float16,
    config: dict | None = None,
) -> tuple[Path, Path]:
    """Write ``<name>.json`` (open_clip model config) and ``<name>.pt`` (``{'state_dict'}``
    with tensors in ``dtype``, like the published fp16 checkpoints). Returns both paths."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{name}.json"
    config_path.write_text(json.dumps(config or TINY_CONFIG, indent=2))
    torch.manual_seed(seed)
    cfg = dict(config or TINY_CONFIG)
    model = open_clip.model.CLIP(**cfg)
    # The learned temperature as in trained CLIP/HPS checkpoints: logit_scale = ln(100), so
    # compare()'s preference probabilities are on the scale the real models give (open_clip
    # initialises it to ln(1/0.07)). The weights themselves stay open_clip's random init.
    with torch.no_grad():
        model.logit_scale.fill_(4.6052)
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    ckpt_path = folder / f"{name}.pt"
    torch.save({"state_dict": state}, ckpt_path)
    return ckpt_path, config_path
