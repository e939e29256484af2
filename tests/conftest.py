"""Shared fixtures. Tests never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED_PROMPTS = REPO.parent / "shared" / "data" / "hps_benchmark_prompts.json"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, arch JSON) of a tiny random open_clip model in the HPS format."""
    from scorer.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny"), seed=0)


@pytest.fixture(scope="session")
def tiny_scorer(tiny_checkpoint):
    from scorer import load_scorer

    ckpt, arch = tiny_checkpoint
    return load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def real_prompts_path() -> Path:
    """The real 3,200 benchmark prompts, read in place (never copied into the repo)."""
    path = Path(os.environ.get("HPS_TEST_PROMPTS", SHARED_PROMPTS))
    if not path.is_file():
        pytest.skip(f"benchmark prompts not found at {path} (set HPS_TEST_PROMPTS)")
    return path


# --- web app (tests/test_app*.py, tests/test_browser.py) ------------------------------
@pytest.fixture
def app_settings(tmp_path, tiny_checkpoint):
    """Settings of an app on a fresh SQLite file, scoring with the tiny checkpoint."""
    from scorer.settings import Settings

    ckpt, arch = tiny_checkpoint
    return Settings(
        data_dir=str(tmp_path / "data"),
        checkpoint=str(ckpt),
        arch=str(arch),
        device="cpu",
        precision="fp32",
        worker=False,
        host="127.0.0.1",
        prompts=str(write_small_prompts(tmp_path / "small_prompts.json")),
        prompt_count_check=False,
        worker_poll_s=0.2,
    )


SMALL_PROMPTS_PER_STYLE = 6


def write_small_prompts(path: Path, n: int = SMALL_PROMPTS_PER_STYLE) -> Path:
    """A small benchmark prompt set ``{style: [n prompts]}`` (with HPS_PROMPT_COUNT_CHECK off)."""
    import json

    from scorer.protocol import STYLES

    prompts = {s: [f"a {s} of a red house number {i}" for i in range(n)] for s in STYLES}
    path.write_text(json.dumps(prompts))
    return path


def make_benchmark(
    folder: Path, n: int = SMALL_PROMPTS_PER_STYLE, *, shade: int = 0, missing=()
) -> Path:
    """``<folder>/<style>/<idx>.png`` images, 16x16, colour set by (style, index, shade);
    ``missing``: (style, index) pairs left out."""
    from PIL import Image

    from scorer.protocol import STYLES, image_stem

    for k, style in enumerate(STYLES):
        (folder / style).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if (style, i) in missing:
                continue
            color = ((40 * i + shade) % 256, (60 * k + 3 * shade) % 256, (25 * i * k) % 256)
            Image.new("RGB", (16, 16), color).save(folder / style / f"{image_stem(i)}.png")
    return folder


def zip_folder(folder: Path, zip_path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(zip_path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return zip_path


@pytest.fixture
def app_store(app_settings):
    from leaderboard import Store

    store = Store.open(app_settings)
    yield store
    store.close()


@pytest.fixture
def color_images(tmp_path) -> list[Path]:
    """Four small images that differ (colour, size, mode) and one non-image."""
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    paths = []
    for name, mode, size, color in [
        ("red.png", "RGB", (40, 30), (220, 30, 30)),
        ("green.jpg", "RGB", (32, 32), (30, 200, 40)),
        ("blue.webp", "RGB", (20, 48), (20, 40, 230)),
        ("grey.png", "L", (24, 24), 128),
    ]:
        path = folder / name
        Image.new(mode, size, color).save(path)
        paths.append(path)
    return paths
