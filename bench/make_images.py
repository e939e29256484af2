"""Make a benchmark-shaped folder of realistic synthetic images.

    .venv/bin/python bench/make_images.py bench/work/images --per-style 12

Writes ``<out>/<style>/00000.jpg ...`` for the four benchmark styles, ``--per-style`` images
each (prompt indices 0 .. N-1; the rest of the 800 are missing, which the official statistics
code cannot take, so the comparison scripts restrict both sides to the images present).
Sizes cycle through 512x512, 768x768, 1024x1024, 1024x768 and 768x1024, as text-to-image
models produce. Each image is smooth value noise over colour gradients plus fine grain,
saved as JPEG quality 92, so files have the size and decode cost of real generations
(~100-400 KB), not of flat colour. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

STYLES = ("anime", "concept-art", "paintings", "photo")
SIZES = ((512, 512), (768, 768), (1024, 1024), (1024, 768), (768, 1024))  # (width, height)


def synth_image(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Smooth multi-octave colour noise + a gradient + grain, as an RGB PIL image."""
    canvas = np.zeros((height, width, 3), dtype=np.float32)
    for cells, weight in ((3, 0.5), (9, 0.3), (27, 0.15), (81, 0.05)):
        small = rng.random((cells, cells, 3), dtype=np.float32)
        layer = Image.fromarray((small * 255).astype(np.uint8), "RGB").resize(
            (width, height), Image.BICUBIC
        )
        canvas += weight * np.asarray(layer, dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)[..., None]
    tint = rng.uniform(-60, 60, size=3).astype(np.float32)
    canvas += ramp * tint
    canvas += rng.normal(0, 4.0, size=canvas.shape).astype(np.float32)
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")


def make_images(out: Path, per_style: int, *, seed: int = 0, quality: int = 92) -> int:
    count = 0
    for s, style in enumerate(STYLES):
        folder = out / style
        folder.mkdir(parents=True, exist_ok=True)
        for idx in range(per_style):
            path = folder / f"{idx:05d}.jpg"
            if path.is_file():
                continue
            rng = np.random.default_rng([seed, s, idx])
            width, height = SIZES[(idx + s) % len(SIZES)]
            synth_image(rng, width, height).save(path, quality=quality)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-style", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    made = make_images(args.out, args.per_style, seed=args.seed)
    files = sorted(args.out.glob("*/*.jpg"))
    size = sum(f.stat().st_size for f in files) / 2**20
    print(f"{args.out}: wrote {made} new, {len(files)} images, {size:.1f} MiB")


if __name__ == "__main__":
    main()
