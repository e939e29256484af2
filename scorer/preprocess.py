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

Only still JPEG, PNG and WebP images are decoded (:data:`FORMATS`, handed to PIL's
``Image.open(formats=...)``, so no other PIL plugin ever sees the bytes: an EPS file named
``.jpg`` never reaches the EPS plugin, which would run Ghostscript). Animated PNG and WebP
(more than one frame) are refused rather than scored on their first frame: a benchmark image
is a still, and a first frame is often not what a viewer shows. An image so thin that the
resize would leave its short side 0 pixels (the long side 448 or more times the short one)
is refused by name before the resize (:func:`check_geometry`).
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

# PIL format names that are decoded; everything else is refused before any plugin reads it.
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
FORMAT_LABELS = "JPEG, PNG, WebP"
# The benchmark layout's extension rules: the file must be what its extension says.
EXTENSION_FORMATS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
}
# Leading bytes of formats people send by mistake, to say what a refused file is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"%PDF", "PDF"),
    (b"8BPS", "Photoshop PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x00\x0cjP", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00", "HEIF/AVIF"),  # ISO-BMFF boxes (ftyp) start with a size
)


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
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = 50_000_000,
    check_extension: bool = False,
) -> Image.Image:
    """Open and fully decode an image, returning it in RGB.

    Accepts a path, bytes or a PIL image; decodes still JPEG, PNG and WebP only
    (:data:`FORMATS`). Empty, corrupt, truncated, animated and non-image input, other
    formats, and images over ``max_pixels`` pixels, raise :class:`ImageError` naming the
    image. ``check_extension``: the benchmark layout's rule, the file must be the format its
    name's extension says (``.png`` holding a WebP is refused).
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
        if check_extension:
            check_format_matches_name(img, label)
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
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        kind = sniff_format(data)
        seen = f"; the file is {kind}" if kind else ""
        raise ImageError(
            label, f"not an image in an accepted format ({FORMAT_LABELS}){seen}"
        ) from None
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        raise ImageError(
            label, f"animated {img.format} ({frames} frames): only still images are accepted"
        )
    check_pixels(img, label, max_pixels)
    return img


def sniff_format(data: bytes) -> str | None:
    """What a refused file probably is, from its first bytes (no decoder involved)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def check_format_matches_name(img: Image.Image, label: str) -> None:
    """The benchmark layout's rule: a ``.png`` is a PNG, a ``.jpg``/``.jpeg`` a JPEG, ..."""
    expected = EXTENSION_FORMATS.get(Path(label).suffix.lower())
    if expected is None:
        raise ImageError(label, f"the name must end in one of {', '.join(EXTENSION_FORMATS)}")
    if img.format != expected:
        raise ImageError(
            label,
            f"the extension says {expected} but the file is {img.format}: rename it or convert it",
        )


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


def resized_size(width: int, height: int, cfg: PreprocessCfg = HPS_PREPROCESS) -> tuple[int, int]:
    """(width, height) after the official resize: the longest side becomes ``cfg.size``."""
    scale = cfg.size / float(max(height, width))
    return round(width * scale), round(height * scale)


def check_geometry(size: tuple[int, int], label: str, cfg: PreprocessCfg = HPS_PREPROCESS) -> None:
    """Refuse an image the resize would leave with a side of 0 pixels (40000x1, ...)."""
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(label, f"image has no pixels ({width}x{height})")
    if min(resized_size(width, height, cfg)) < 1:
        raise ImageError(
            label,
            f"{width}x{height} is too thin to score: resized so its longest side is "
            f"{cfg.size}, its short side would be 0 pixels (the long side must be under "
            f"{2 * cfg.size} times the short side)",
        )


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


# Above this many pixels the resize runs in horizontal stripes (see resize_in_stripes).
STRIPE_PIXELS = 4_000_000
STRIPE_ROWS = 256


def _resize(t: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return TF.resize(t, [height, width], interpolation=InterpolationMode.BICUBIC)


def resize_in_stripes(img: Image.Image, cfg: PreprocessCfg = HPS_PREPROCESS) -> torch.Tensor:
    """The official resize of a large image, bit for bit, without its full float copy.

    torchvision's antialiased bicubic resize is separable and runs the horizontal pass
    first; done here as a width-only resize of stripes of rows (each row is independent),
    then a height-only resize of the narrow result, it gives exactly the same numbers
    (tests/test_preprocess.py checks ``torch.equal``). Only one stripe of rows is ever
    copied out of the decoded image, and only it is in float: a 7000x7000 image costs a
    7000x224 float band on top of its decoded pixels, not a float copy of ~560 MiB and two
    8-bit copies (BENCHMARKS.md).
    """
    rgb = to_rgb(img)
    width, height = rgb.size
    new_w, new_h = resized_size(width, height, cfg)
    bands = []
    # one float buffer for every stripe: large tensors allocated and freed in a loop leave
    # the C allocator's heap fragmented, and the process keeps the memory
    buffer = torch.empty(3, min(STRIPE_ROWS, height), width)
    for top in range(0, height, STRIPE_ROWS):
        # a crop of the PIL image, so not even the 8-bit pixels are copied whole
        rows = rgb.crop((0, top, width, min(top + STRIPE_ROWS, height)))
        pixels = torch.from_numpy(np.array(rows, dtype=np.uint8)).permute(2, 0, 1)
        stripe = buffer[:, : pixels.shape[1]]
        if not stripe.is_contiguous():
            stripe = stripe.contiguous()
        stripe.copy_(pixels).div_(255.0)
        bands.append(_resize(stripe, stripe.shape[1], new_w) if new_w != width else stripe.clone())
    del buffer
    t = torch.cat(bands, dim=1)
    return _resize(t, new_h, new_w) if new_h != height else t


def preprocess_tensor(t: torch.Tensor, cfg: PreprocessCfg = HPS_PREPROCESS) -> torch.Tensor:
    """[3, H, W] float in [0, 1] -> normalised [3, size, size]."""
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a [3, H, W] tensor, got shape {tuple(t.shape)}")
    height, width = int(t.shape[1]), int(t.shape[2])
    new_w, new_h = resized_size(width, height, cfg)
    if min(new_h, new_w) < 1:
        raise ValueError(f"a {width}x{height} image would resize to {new_w}x{new_h}")
    if (new_h, new_w) != (height, width):
        t = _resize(t, new_h, new_w)
    pad_h, pad_w = cfg.size - new_h, cfg.size - new_w
    if pad_h or pad_w:
        t = TF.pad(
            t,
            padding=[pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2],
            fill=cfg.fill,
        )
    return TF.normalize(t, mean=list(cfg.mean), std=list(cfg.std))


def preprocess(
    img: Image.Image, cfg: PreprocessCfg = HPS_PREPROCESS, *, name: str | None = None
) -> torch.Tensor:
    """PIL image -> normalised [3, size, size] float32 tensor, exactly as HPS v2 evaluates.
    An image too thin to resize raises :class:`ImageError` naming ``name``."""
    check_geometry(img.size, _describe(img, name), cfg)
    if img.width * img.height > STRIPE_PIXELS:
        # already resized: preprocess_tensor only pads and normalises it
        return preprocess_tensor(resize_in_stripes(img, cfg), cfg)
    return preprocess_tensor(image_to_tensor(img), cfg)


def load_and_preprocess(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = 50_000_000,
    cfg: PreprocessCfg = HPS_PREPROCESS,
    check_extension: bool = False,
) -> torch.Tensor:
    """Decode and preprocess: what scoring runs for every image, and what intake runs (with
    ``check_extension``) to refuse at validation anything scoring would refuse."""
    img = load_image(source, name=name, max_pixels=max_pixels, check_extension=check_extension)
    return preprocess(img, cfg, name=_describe(source, name))
