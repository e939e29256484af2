"""Shared fixtures. Tests never touch the network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Every test (and every app, worker or CLI process a test starts) sees its own empty hub
# cache, set before huggingface_hub is imported (it reads HF_HOME at import): real weights
# cached on this machine never change what a test exercises.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hps-test-hf-home-")

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
    from web.settings import AppSettings

    ckpt, arch = tiny_checkpoint
    return AppSettings(
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


# --- store and submissions (issue 3) ------------------------------------------------------


def write_prompts(path: Path, per_style: int) -> Path:
    """A small combined prompts JSON; each list repeats prompts (index by position)."""
    import json

    from scorer.protocol import STYLES

    data = {
        style: [f"{style} prompt {i % max(1, per_style - 2)}" for i in range(per_style)]
        for style in STYLES
    }
    path.write_text(json.dumps(data))
    return path


def build_benchmark(
    folder: Path,
    per_style: int,
    *,
    skip: dict | None = None,
    ext: str = ".png",
    size: tuple[int, int] = (224, 224),
    seed: int = 0,
) -> Path:
    """A benchmark folder <style>/<idx>.<ext> of small solid images that differ by index
    (``seed`` changes every colour); ``skip`` = {style: indices} leaves images out."""
    from PIL import Image

    from scorer.protocol import STYLES

    skip = skip or {}
    for s_i, style in enumerate(STYLES):
        (folder / style).mkdir(parents=True, exist_ok=True)
        for i in range(per_style):
            if i in skip.get(style, ()):
                continue
            color = ((i * 37 + seed * 11) % 256, (i * 91 + s_i * 60) % 256, (s_i * 70 + seed) % 256)
            Image.new("RGB", size, color).save(folder / style / f"{i:05d}{ext}")
    return folder


def zip_tree(folder: Path, zip_path: Path, *, prefix: str = "") -> Path:
    import zipfile

    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, prefix + file.relative_to(folder).as_posix())
    return zip_path


POSTGRES_ENV = "HPS_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file in tmp_path, or (with HPS_TEST_POSTGRES_URL
    set, see scripts/start_test_postgres.sh) a new database on that PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leaderboard.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base and os.environ.get("HPS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"HPS_REQUIRE_POSTGRES=1 but {POSTGRES_ENV} is not set")
    if not base:
        pytest.skip(
            f"PostgreSQL store tests need {POSTGRES_ENV} "
            "(export HPS_TEST_POSTGRES_URL=$(scripts/start_test_postgres.sh))"
        )
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"hps_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def small_prompts_path(tmp_path) -> Path:
    return write_prompts(tmp_path / "prompts.json", 12)


@pytest.fixture
def store_settings(tmp_path, tiny_checkpoint, database_url, small_prompts_path):
    """Settings for a store on ``database_url`` with the tiny model and 12 prompts a style."""
    from submissions.settings import SubmissionSettings

    ckpt, arch = tiny_checkpoint
    return SubmissionSettings(
        data_dir=str(tmp_path / "data"),
        database_url=database_url,
        checkpoint=str(ckpt),
        arch=str(arch),
        device="cpu",
        precision="fp32",
        prompts=str(small_prompts_path),
        prompt_count_check=False,
        batch_size=4,
        worker_poll_s=0.1,
    )


@pytest.fixture
def store(store_settings):
    from leaderboard import Store

    with Store.open(store_settings) as opened:
        yield opened


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty huggingface_hub cache laid out as the library does, with HF_HOME pointing at
    it and HF_HUB_OFFLINE=1 (tests/hubcache.py builds datasets in it)."""
    from tests.hubcache import use_hub_cache

    return use_hub_cache(tmp_path, monkeypatch)
