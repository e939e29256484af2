"""Preprocessing equals an independent, straightforward implementation of the official
HPS v2 evaluation transform (ToTensor -> longest side 224, bicubic+antialias on the float
tensor -> zero pad, left/top = pad // 2 -> OpenAI CLIP normalisation)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from scorer.preprocess import OPENAI_MEAN, OPENAI_STD, load_image, preprocess


def reference(img: Image.Image) -> torch.Tensor:
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0  # H, W, 3
    h, w = rgb.shape[:2]
    scale = 224 / max(h, w)
    nh, nw = round(h * scale), round(w * scale)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
    out = torch.zeros(1, 3, 224, 224)
    top, left = (224 - nh) // 2, (224 - nw) // 2
    out[:, :, top : top + nh, left : left + nw] = x
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)
    return ((out - mean) / std)[0]


def noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": None}[mode]
    shape = (height, width) if channels is None else (height, width, channels)
    return Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode=mode)


@pytest.mark.parametrize(
    "size",
    [(300, 300), (640, 160), (160, 640), (224, 100), (100, 224), (224, 224), (1, 1), (225, 3)],
    ids=lambda s: f"{s[0]}x{s[1]}",
)
def test_rgb_matches_reference(size):
    img = noise(*size)
    out = preprocess(img)
    assert out.shape == (3, 224, 224)
    torch.testing.assert_close(out, reference(img), atol=1e-5, rtol=1e-5)


def test_longest_side_224_is_padded_not_skipped():
    img = noise(224, 100)
    out = preprocess(img)
    # rows above and below the image are padding: 0 before normalisation
    pad_value = (0 - torch.tensor(OPENAI_MEAN)) / torch.tensor(OPENAI_STD)
    torch.testing.assert_close(out[:, 0, 0], pad_value)
    torch.testing.assert_close(out[:, 223, 223], pad_value)
    assert not torch.allclose(out[:, 112, 112], pad_value)


def test_rgba_drops_alpha():
    rgba = noise(120, 90, "RGBA")
    rgb = rgba.convert("RGB")
    out = preprocess(rgba)
    assert out.shape == (3, 224, 224)
    torch.testing.assert_close(out, reference(rgb))
    # fully transparent pixels keep their colour: alpha is dropped, not composited
    transparent = rgba.copy()
    transparent.putalpha(0)
    torch.testing.assert_close(preprocess(transparent), out)


def test_greyscale_and_palette():
    grey = noise(50, 70, "L")
    torch.testing.assert_close(preprocess(grey), reference(grey))
    palette = noise(70, 50).convert("P")
    torch.testing.assert_close(preprocess(palette), reference(palette.convert("RGB")))


def test_16_bit_greyscale_scaled_to_8_bit():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 65536, size=(40, 60), dtype=np.uint16)
    img16 = Image.fromarray(values)
    assert img16.mode == "I;16"
    expected8 = Image.fromarray(np.rint(values / 257.0).astype(np.uint8), mode="L")
    torch.testing.assert_close(preprocess(img16), reference(expected8))


def test_16_bit_png_file_roundtrip(tmp_path):
    values = np.full((30, 20), 65535, dtype=np.uint16)
    path = tmp_path / "white16.png"
    Image.fromarray(values).save(path)
    img = load_image(path)
    assert img.mode == "RGB"
    assert np.asarray(img).min() == 255  # white stays white


def test_still_webp_decodes(tmp_path):
    webp = tmp_path / "x.webp"
    Image.new("RGB", (40, 30), (0, 0, 255)).save(webp, lossless=True)
    assert np.asarray(load_image(webp))[..., 2].mean() > 200


def test_bytes_path_and_pil_agree(tmp_path):
    img = noise(80, 60)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue())
    a = preprocess(load_image(path))
    b = preprocess(load_image(buf.getvalue()))
    c = preprocess(load_image(img))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_no_exif_rotation(tmp_path):
    img = noise(60, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW" orientation tag: ignored, as the official code does
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=95)
    assert load_image(path).size == (60, 30)


@pytest.mark.parametrize("size", [(2100, 2000), (1200, 3500), (4100, 1000)], ids=str)
def test_large_images_are_resized_in_stripes_bit_for_bit(size):
    """Above STRIPE_PIXELS the resize runs on stripes of rows (memory bounded); the result
    is exactly the one-shot resize of the whole float image, and the reference."""
    from scorer.preprocess import STRIPE_PIXELS, image_to_tensor, preprocess_tensor

    img = noise(*size, seed=3)
    assert size[0] * size[1] > STRIPE_PIXELS
    out = preprocess(img)
    assert torch.equal(out, preprocess_tensor(image_to_tensor(img)))
    torch.testing.assert_close(out, reference(img), atol=1e-5, rtol=1e-5)
