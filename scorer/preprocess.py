"""Image loading and the exact HPS v2 evaluation preprocessing.

The official evaluation (``hpsv2`` package) does: convert to RGB, ``ToTensor`` (uint8 ->
float in [0, 1]), resize the *float tensor* so the longest side is 224 (bicubic, torchvision
tensor resize with its default antialias), new size = round(side * 224 / longest), pad with 0
to 224 x 224 (left/top = pad // 2), normalise with the OpenAI CLIP mean/std.

Two deliberate differences, both where the official code crashes: images whose longest side
is already 224 are padded too (the official code skips resize *and* pad, so a non-square
image cannot be batched), and alpha is always dropped (the official code keeps RGBA and
fails). A third: 16-bit greyscale is scaled to 8 bits (PIL's ``convert`` clips it to white).
No EXIF rotation, as the official code.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from .errors import ImageError

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

ImageSource = str | os.PathLike | bytes | Image.Image


@dataclass(frozen=True)
class PreprocessCfg:
    """Preprocessing that travels with the weights."""

    size: int = 224
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    fill: float = 0.0


HPS_PREPROCESS = PreprocessCfg()


def _describe(source: ImageSource, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, bytes):
        return "<uploaded bytes>"
    return "<image>"


def load_image(
    source: ImageSource, *, name: str | None = None, max_pixels: int = 50_000_000
) -> Image.Image:
    """Open and fully decode an image, returning it in RGB.

    Accepts a path, bytes or a PIL image; reads whatever PIL reads (first frame of an
    animation). Empty, corrupt, truncated and non-image input, and images over
    ``max_pixels`` pixels, raise :class:`ImageError` naming the image.
    """
    label = _describe(source, name)
    if isinstance(source, Image.Image):
        check_pixels(source, label, max_pixels)
        return to_rgb(source)
    try:
        if isinstance(source, bytes):
            data = source
        else:
            data = Path(source).read_bytes()
    except FileNotFoundError:
        raise ImageError(label, "file not found") from None
    except IsADirectoryError:
        raise ImageError(label, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageError(label, f"cannot be read ({exc.strerror or exc})") from None
    with decoding(label, max_pixels):
        img = open_checked(data, label, max_pixels)
        img.load()
    try:
        return to_rgb(img)
    except (OSError, ValueError) as exc:
        raise ImageError(label, f"cannot be converted to RGB ({exc})") from None


@contextmanager
def decoding(label: str, max_pixels: int) -> Iterator[None]:
    """Turn what PIL raises while opening or decoding into an ImageError naming ``label``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(label, f"image is larger than {max_pixels:,} pixels") from None
    except UnidentifiedImageError:
        raise ImageError(label, "not an image PIL can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(label, f"corrupt or truncated image ({exc})") from None


def open_checked(data: bytes, label: str, max_pixels: int) -> Image.Image:
    """``Image.open`` of non-empty bytes within the pixel limit, not yet decoded; call inside
    :func:`decoding`."""
    if not data:
        raise ImageError(label, "empty file")
    img = Image.open(io.BytesIO(data))
    check_pixels(img, label, max_pixels)
    return img


def check_pixels(img: Image.Image, label: str, max_pixels: int) -> None:
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(
            label,
            f"{width}x{height} = {width * height:,} pixels is over the limit of "
            f"{max_pixels:,} (HPS_MAX_IMAGE_PIXELS)",
        )
    if width < 1 or height < 1:
        raise ImageError(label, f"image has no pixels ({width}x{height})")


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB as PIL's ``convert('RGB')`` gives it (alpha dropped, as the official code for
    non-RGBA images); 16-bit and 32-bit greyscale are scaled to 8 bits first, which PIL's own
    conversion would clip."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit data (I;16*, or 32-bit "I" holding values above 255) -> 8 bits.
        scale = 257.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0
        arr = np.clip(np.rint(arr / scale), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "F":
        arr = np.clip(np.rint(np.asarray(img, dtype=np.float64)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    return img.convert("RGB")


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float32 CHW tensor in [0, 1] (torchvision ``ToTensor``)."""
    arr = np.asarray(to_rgb(img), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def preprocess_tensor(t: torch.Tensor, cfg: PreprocessCfg = HPS_PREPROCESS) -> torch.Tensor:
    """[3, H, W] float in [0, 1] -> normalised [3, size, size]."""
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a [3, H, W] tensor, got shape {tuple(t.shape)}")
    height, width = int(t.shape[1]), int(t.shape[2])
    scale = cfg.size / float(max(height, width))
    new_h, new_w = round(height * scale), round(width * scale)
    if (new_h, new_w) != (height, width):
        t = TF.resize(t, [new_h, new_w], interpolation=InterpolationMode.BICUBIC)
    pad_h, pad_w = cfg.size - new_h, cfg.size - new_w
    if pad_h or pad_w:
        t = TF.pad(
            t,
            padding=[pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2],
            fill=cfg.fill,
        )
    return TF.normalize(t, mean=list(cfg.mean), std=list(cfg.std))


def preprocess(img: Image.Image, cfg: PreprocessCfg = HPS_PREPROCESS) -> torch.Tensor:
    """PIL image -> normalised [3, size, size] float32 tensor, exactly as HPS v2 evaluates."""
    return preprocess_tensor(image_to_tensor(img), cfg)


def load_and_preprocess(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = 50_000_000,
    cfg: PreprocessCfg = HPS_PREPROCESS,
) -> torch.Tensor:
    return preprocess(load_image(source, name=name, max_pixels=max_pixels), cfg)
