"""Intake: the validation report on crafted layouts, and every kind of hostile upload."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scorer.prompts import load_prompt_sets
from submissions import SubmissionRejected, submit, validate
from submissions.layout import suggest_style
from submissions.settings import SubmissionSettings
from tests.conftest import build_benchmark, write_prompts, zip_tree

N = 12  # prompts per style in these tests


@pytest.fixture
def prompts(tmp_path):
    return load_prompt_sets(write_prompts(tmp_path / "p.json", N), expect_count=False)


@pytest.fixture
def settings(tmp_path):
    return SubmissionSettings(data_dir=str(tmp_path / "data"), prompt_count_check=False)


def png_bytes(size=(224, 224), color=(10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def noise_bytes(fmt: str, size=(96, 96)) -> bytes:
    arr = (np.random.default_rng(1).random((size[1], size[0], 3)) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def complete_zip(path: Path, extra: dict[str, bytes] | None = None, skip=()) -> Path:
    """A complete benchmark zip (plus ``extra`` entries, minus ``skip`` names)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for style in ("anime", "concept-art", "paintings", "photo"):
            for i in range(N):
                name = f"{style}/{i:05d}.png"
                if name not in skip:
                    zf.writestr(name, png_bytes(color=(i, 0, 0)))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def raw_entry(zf: zipfile.ZipFile, name: str, data: bytes, mode: int | None = None) -> None:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    zf.writestr(info, data)


# --- layouts -----------------------------------------------------------------------------


def test_complete_folder_and_zip_with_top_folder(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    report = validate(folder, prompts, settings)
    assert report.ok and report.complete and report.errors == []
    assert report.counts == {s: N for s in prompts.styles}

    zipped = zip_tree(folder, tmp_path / "b.zip", prefix="my-model-outputs/")
    report = validate(zipped, prompts, settings)
    assert report.ok and report.complete, report.as_text()


def test_missing_indices_as_ranges_and_partial(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N, skip={"anime": {3, 4, 5, 9}})
    report = validate(folder, prompts, settings)
    assert not report.ok and not report.complete
    assert report.missing == {"anime": "00003-00005, 00009"}
    assert "incomplete" in " ".join(report.problems())
    accepted = validate(folder, prompts, settings, partial=True)
    assert accepted.ok and not accepted.complete and accepted.images == 4 * N - 4
    assert "00003-00005, 00009" in accepted.as_text()


def test_a_missing_style_is_reported_whole(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    for file in (folder / "photo").iterdir():
        file.unlink()
    (folder / "photo").rmdir()
    report = validate(folder, prompts, settings)
    assert report.missing == {"photo": f"00000-{N - 1:05d}"}


@pytest.mark.parametrize(
    "folder,expected",
    [
        ("Animation", "anime"),
        ("concept_art", "concept-art"),
        ("ConceptArt", "concept-art"),
        ("Painting", "paintings"),
        ("photos", "photo"),
        ("Anime", "anime"),
        ("xyzzy", None),
    ],
)
def test_suggestions(folder, expected):
    assert suggest_style(folder) == expected


def test_unknown_folder_names_get_suggestions(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    (folder / "anime").rename(folder / "Animation")
    (folder / "concept-art").rename(folder / "ConceptArt")
    (folder / "misc").mkdir()
    (folder / "misc" / "00000.png").write_bytes(png_bytes())
    report = validate(folder, prompts, settings, partial=True)
    text = "\n".join(report.errors)
    assert "'Animation'" in text and "did you mean 'anime'" in text
    assert "'ConceptArt'" in text and "did you mean 'concept-art'" in text
    assert "'misc'" in text and "anime, concept-art, paintings, photo" in text
    assert not report.ok


def test_a_submission_nested_too_deep_names_the_extra_level(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    report = validate(zip_tree(folder, tmp_path / "b.zip", prefix="a/b/"), prompts, settings)
    assert not report.ok
    [error] = report.errors
    assert "one folder level too deep, under 'a/b/'" in error and "extra level is 'b'" in error
    assert "Zip the folder 'b' itself" in error and "unknown folder" not in error


@pytest.mark.parametrize("stem", ["０００００", "٠٠٠٠٠", "0000\u0661"])
def test_prompt_indices_are_ascii_digits_only(tmp_path, prompts, settings, stem):
    """int() and \\d accept full-width and other Unicode digits; an index is 5 ASCII digits."""
    folder = build_benchmark(tmp_path / "bench", N, skip={"anime": [0]})
    (folder / "anime" / f"{stem}.png").write_bytes(png_bytes())
    report = validate(folder, prompts, settings)
    assert not report.ok
    assert any(f"anime/{stem}.png" in e and "5-digit" in e for e in report.errors)
    assert report.counts["anime"] == N - 1


def test_duplicates_extras_and_bad_names(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    Image.new("RGB", (8, 8)).save(folder / "anime" / "00001.jpg")  # 00001 twice
    (folder / "anime" / f"{N:05d}.png").write_bytes(png_bytes())  # beyond the prompts
    (folder / "photo" / "image1.png").write_bytes(png_bytes())  # not an index
    (folder / "photo" / "00002.gif").write_bytes(png_bytes())  # unsupported type
    (folder / "README.txt").write_text("hello")  # harmless extra
    (folder / ".DS_Store").write_bytes(b"\0")  # system junk
    report = validate(folder, prompts, settings)
    text = "\n".join(report.errors)
    assert "anime/00001: 2 files for one prompt (anime/00001.jpg, anime/00001.png)" in text
    assert f"anime/{N:05d}.png" in text and "beyond" in text
    assert "photo/image1.png" in text and "5-digit" in text
    assert "photo/00002.gif" in text and "unsupported" in text
    assert any("README.txt" in w for w in report.warnings)
    assert any(".DS_Store" in w for w in report.warnings)
    assert not report.ok


# --- unreadable images -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("anime/00000.png", b"this is not an image at all", "not an image"),
        ("anime/00000.png", b"", "empty"),
        ("anime/00000.jpg", noise_bytes("JPEG")[:-400], "truncated"),
        ("anime/00000.png", noise_bytes("PNG")[:-1000], "truncated"),
        ("anime/00000.webp", noise_bytes("WEBP")[:-300], "corrupt"),
    ],
)
def test_unreadable_images_are_named(tmp_path, prompts, settings, name, data, reason):
    path = complete_zip(tmp_path / "b.zip", extra={name: data}, skip={"anime/00000.png"})
    report = validate(path, prompts, settings)
    assert not report.ok
    assert any(name in e and reason in e for e in report.errors), report.errors


def test_decompression_bomb_image(tmp_path, prompts, settings):
    buf = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buf, "PNG")  # 100 Mpx in ~12 KB
    bomb = buf.getvalue()
    assert len(bomb) < 200_000
    path = complete_zip(
        tmp_path / "b.zip", extra={"anime/00000.png": bomb}, skip={"anime/00000.png"}
    )
    report = validate(path, prompts, settings)
    assert any("anime/00000.png" in e and "pixels" in e for e in report.errors), report.errors


def test_format_mismatch_is_refused_by_name(tmp_path, prompts, settings):
    path = complete_zip(
        tmp_path / "b.zip",
        extra={"anime/00000.jpg": noise_bytes("PNG"), "anime/00001.png": noise_bytes("WEBP")},
        skip={"anime/00000.png", "anime/00001.png"},
    )
    report = validate(path, prompts, settings)
    assert not report.ok
    assert any("anime/00000.jpg" in e and "the file is PNG" in e for e in report.errors)
    assert any("anime/00001.png" in e and "the file is WEBP" in e for e in report.errors)


def eps_bytes() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
        b"0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n"
    )


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:])
    return buf.getvalue()


def test_only_still_jpeg_png_webp_are_decoded(tmp_path, prompts, settings, monkeypatch):
    """GIF, TIFF, BMP, EPS, PDF and animations are refused by name; the EPS plugin (which
    runs Ghostscript where installed) never sees the EPS named .jpg."""
    reached = []
    eps_factory, eps_accept = Image.OPEN["EPS"]

    def spy(*args, **kwargs):
        reached.append(args)
        return eps_factory(*args, **kwargs)

    monkeypatch.setitem(Image.OPEN, "EPS", (spy, eps_accept))

    def encoded(fmt: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, fmt)
        return buf.getvalue()

    bad = {
        "anime/00000.jpg": (eps_bytes(), "EPS"),
        "anime/00001.png": (encoded("GIF"), "GIF"),
        "anime/00002.png": (encoded("TIFF"), "TIFF"),
        "anime/00003.jpg": (encoded("BMP"), "BMP"),
        "anime/00004.png": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        "anime/00005.png": (animated("PNG"), "animated PNG (2 frames)"),
        "anime/00006.webp": (animated("WEBP"), "animated WEBP (2 frames)"),
    }
    path = complete_zip(
        tmp_path / "b.zip",
        extra={name: data for name, (data, _) in bad.items()},
        skip={f"anime/{i:05d}.png" for i in range(7)},
    )
    report = validate(path, prompts, settings)
    assert not report.ok
    for name, (_, what) in bad.items():
        assert any(name in e and what in e for e in report.errors), (name, report.errors)
    assert reached == []


def test_what_scoring_would_refuse_is_refused_at_intake(tmp_path, prompts, settings):
    """A 40000x1 PNG decodes, but the resize would make its short side 0 pixels."""
    thin = png_bytes(size=(40_000, 1))
    path = complete_zip(
        tmp_path / "b.zip", extra={"photo/00003.png": thin}, skip={"photo/00003.png"}
    )
    report = validate(path, prompts, settings)
    assert not report.ok
    assert any("photo/00003.png" in e and "40000x1" in e for e in report.errors)


# --- hostile zips ------------------------------------------------------------------------


def hostile_zip(path: Path, add) -> Path:
    complete_zip(path)
    with zipfile.ZipFile(path, "a") as zf:
        add(zf)
    return path


HOSTILE = {
    "absolute": (lambda zf: raw_entry(zf, "/tmp/evil.png", png_bytes()), "absolute path"),
    "dotdot": (lambda zf: raw_entry(zf, "anime/../../evil.png", png_bytes()), "'..'"),
    "backslash_dotdot": (lambda zf: raw_entry(zf, "..\\..\\evil.png", png_bytes()), "'..'"),
    "drive": (lambda zf: raw_entry(zf, "C:/evil.png", png_bytes()), "absolute path"),
    "symlink": (
        lambda zf: raw_entry(zf, "anime/link.png", b"/etc/passwd", stat.S_IFLNK | 0o777),
        "symbolic link",
    ),
    "device": (
        lambda zf: raw_entry(zf, "anime/dev.png", b"", stat.S_IFCHR | 0o666),
        "device",
    ),
    "fifo": (lambda zf: raw_entry(zf, "anime/fifo", b"", stat.S_IFIFO | 0o666), "FIFO"),
    "ratio": (
        lambda zf: zf.writestr(
            zipfile.ZipInfo("anime/zeros.png"), b"\0" * 5_000_000, zipfile.ZIP_DEFLATED
        ),
        "compression ratio",
    ),
    "twice": (lambda zf: raw_entry(zf, "anime/00000.png", png_bytes()), "appears twice"),
}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_entries_are_refused_and_nothing_is_written(tmp_path, prompts, case):
    add, reason = HOSTILE[case]
    (tmp_path / "upload").mkdir()
    upload = hostile_zip(tmp_path / "upload" / "b.zip", add)
    settings = SubmissionSettings(
        data_dir=str(tmp_path / "data"), prompt_count_check=False, database_url=None
    )
    from leaderboard import Store

    before = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts)
    with Store.open(settings) as store, pytest.raises(SubmissionRejected) as info:
        submit(store, upload, model="m", settings=settings, prompts=prompts)
    text = "\n".join(info.value.report.errors)
    assert reason in text, text
    after = sorted(p for p in tmp_path.rglob("*") if "data" not in p.parts)
    assert after == before  # nothing written outside the data folder
    assert list((tmp_path / "data" / "submissions").iterdir()) == []  # staging removed
    assert not Path("/tmp/evil.png").exists()
    with Store.open(settings) as store:
        assert store.list_submissions() == []


def test_zip_limits(tmp_path, prompts):
    path = complete_zip(tmp_path / "b.zip")
    few = SubmissionSettings(max_zip_entries=10, prompt_count_check=False)
    report = validate(path, prompts, few)
    assert any("entries" in e and "HPS_MAX_ZIP_ENTRIES" in e for e in report.errors)

    big = tmp_path / "big.zip"
    random = np.random.default_rng(0).integers(0, 256, 1_300_000, dtype=np.uint8).tobytes()
    complete_zip(big, extra={"anime/blob.bin": random})
    small = SubmissionSettings(max_uncompressed_mb=1, prompt_count_check=False)
    report = validate(big, prompts, small)
    assert any("HPS_MAX_UNCOMPRESSED_MB" in e for e in report.errors)
    upload = SubmissionSettings(max_upload_mb=1, prompt_count_check=False)
    report = validate(big, prompts, upload)
    assert any("HPS_MAX_UPLOAD_MB" in e for e in report.errors)


def test_not_a_zip(tmp_path, prompts, settings):
    bogus = tmp_path / "b.zip"
    bogus.write_bytes(b"PK\x03\x04 but not really")
    report = validate(bogus, prompts, settings)
    assert not report.ok and "not a readable zip" in report.errors[0]
    report = validate(tmp_path / "nothing-here", prompts, settings)
    assert "neither a zip file nor a folder" in report.errors[0]


def test_folder_symlinks_are_not_followed(tmp_path, prompts, settings):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "secret.png").write_bytes(png_bytes())
    folder = build_benchmark(tmp_path / "bench", N)
    (folder / "anime" / "00000.png").unlink()
    os.symlink(secret / "secret.png", folder / "anime" / "00000.png")
    os.symlink(secret, folder / "photo" / "more")
    report = validate(folder, prompts, settings, partial=True)
    text = "\n".join(report.errors)
    assert "'anime/00000.png': symbolic link" in text
    assert "'photo/more': symbolic link" in text
    assert not report.ok


def test_image_file_size_limit(tmp_path, prompts):
    big = noise_bytes("PNG", size=(800, 800))  # ~1.9 MB of noise
    path = complete_zip(
        tmp_path / "b.zip", extra={"anime/00000.png": big}, skip={"anime/00000.png"}
    )
    report = validate(path, prompts, SubmissionSettings(max_image_mb=1, prompt_count_check=False))
    assert any("anime/00000.png" in e and "HPS_MAX_IMAGE_MB" in e for e in report.errors)


def test_folder_special_files_are_refused(tmp_path, prompts, settings):
    folder = build_benchmark(tmp_path / "bench", N)
    os.mkfifo(folder / "anime" / "pipe.png")
    report = validate(folder, prompts, settings)
    assert any("'anime/pipe.png': not a regular file" in e for e in report.errors)


def test_entry_lying_about_its_size_is_refused(tmp_path, prompts, settings):
    path = complete_zip(tmp_path / "b.zip", skip={"anime/00000.png"})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("anime/00000.png", png_bytes(color=(1, 2, 3)), zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    # Declare 100 bytes uncompressed in the central directory entry of anime/00000.png.
    name = b"anime/00000.png"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    assert data[at + 46 : at + 46 + len(name)] == name
    data[at + 24 : at + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    report = validate(path, prompts, settings)
    assert any("anime/00000.png" in e for e in report.errors), report.errors
    assert not report.ok
