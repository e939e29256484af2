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
    )


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
