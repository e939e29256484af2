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


@pytest.mark.parametrize("size", [(40_000, 1), (1, 500), (448, 1)])
def test_too_thin_to_resize_is_named(tmp_path, size):
    """The resize would round the short side to 0: an ImageError naming the file, before
    torch is asked for a 0-pixel output."""
    from scorer.preprocess import load_and_preprocess

    path = tmp_path / "strip.png"
    Image.new("RGB", size).save(path)
    with pytest.raises(ImageError) as info:
        load_and_preprocess(path)
    assert str(path) in str(info.value) and f"{size[0]}x{size[1]} is too thin" in str(info.value)


def test_thinnest_scorable_strip_passes(tmp_path):
    from scorer.preprocess import load_and_preprocess

    path = tmp_path / "strip.png"
    Image.new("RGB", (447, 1)).save(path)  # short side 224/447 = 0.501 -> 1 pixel
    assert load_and_preprocess(path).shape == (3, 224, 224)


def test_eps_named_jpg_never_reaches_the_eps_plugin(tmp_path, monkeypatch):
    reached = []
    factory, accept = Image.OPEN["EPS"]
    monkeypatch.setitem(Image.OPEN, "EPS", (lambda *a, **k: reached.append(a), accept))
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    check(path, "the file is PostScript/EPS")
    assert reached == []
