"""Bad image input gives a typed user error that names the file."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from scorer.errors import HPSError, ImageError
from scorer.preprocess import load_image


def jpeg_bytes(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def check(path, fragment: str, **kw) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(path, **kw)
    err = info.value
    assert isinstance(err, HPSError)
    assert str(path) in str(err)
    assert fragment in str(err)
    return err


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    check(path, "empty")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a PNG")
    check(path, "not an image")


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_bytes((256, 256))[:400])
    check(path, "truncated")


def test_corrupt_png(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[60:90] = b"\x00" * 30  # damage the image data
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_over_pixel_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (200, 100)).save(path)
    err = check(path, "pixels", max_pixels=10_000)
    assert "20,000" in str(err) and "HPS_MAX_IMAGE_PIXELS" in str(err)


def test_decompression_bomb(tmp_path):
    # 30000 x 30000 one-bit PNG: a few hundred KB on disk, 900 M pixels decoded
    path = tmp_path / "bomb.png"
    Image.new("1", (30000, 30000)).save(path, optimize=True)
    check(path, "pixels")


def test_missing_and_folder(tmp_path):
    check(tmp_path / "nope.jpg", "not found")
    check(tmp_path, "folder")


def test_bytes_named_in_error():
    with pytest.raises(ImageError) as info:
        load_image(b"garbage", name="upload-3.jpg")
    assert "upload-3.jpg" in str(info.value)
