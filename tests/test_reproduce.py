"""Reproducing published rows end to end, offline: a hub cache made here holds the dataset
``zhwang/HPDv2`` (prompts ``benchmark/<style>.json`` and archives
``benchmark/benchmark_imgs/<abbr>.tar.gz``), the real huggingface_hub resolves it, the tiny
checkpoint scores, and the verified twins are checked against an independent scoring run."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from leaderboard import Store
from leaderboard.seed import load_published
from scorer.benchmark import run_benchmark
from scorer.errors import PromptSetError
from scorer.prompts import HUB_DATASET, load_prompt_sets
from scorer.protocol import STYLES
from submissions.cli import main
from submissions.reproduce import UnknownPublishedModel, archive_map, select_models
from submissions.settings import SubmissionSettings
from tests.hubcache import prompt_files, tar_bytes

N = 4  # prompts per style in the test dataset


def jpeg(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 32), color).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def model_images(abbr: str, seed: int) -> dict[str, bytes]:
    """``<abbr>/<style>/<index>.jpg``, as the published archives unpack."""
    return {
        f"{abbr}/{style}/{i:05d}.jpg": jpeg(((50 * i + seed) % 256, 40 * k, 90 + seed))
        for k, style in enumerate(STYLES)
        for i in range(N)
    }


PROMPTS = {s: [f"{s} prompt number {i}" for i in range(N)] for s in STYLES}


def test_name_map_covers_the_published_tables():
    amap = archive_map()
    published = {row["model"] for t in load_published()["tables"].values() for row in t}
    listed = set(amap.archives) | set(amap.no_archive)
    assert published - listed == set(), "published models with neither archive nor reason"
    assert set(amap.archives) - published == set(), "archives named after no published model"
    assert not set(amap.archives) & set(amap.no_archive)
    abbreviations = [*amap.archives.values(), *amap.unpublished]
    assert len(abbreviations) == len(set(abbreviations)), "one archive per model"
    assert amap.dataset == HUB_DATASET


def test_model_selection_by_name_or_abbreviation():
    assert select_models("v2.1", ["glide", "Laf", "GLIDE"]) == ["GLIDE", "LAFITE"]
    everything = select_models("v2.1", None)
    assert everything == [r["model"] for r in load_published()["tables"]["v2.1"]]
    with pytest.raises(UnknownPublishedModel, match="'SDXL 1.0' is not a model of the published"):
        select_models("v2.1", ["SDXL 1.0"])


def test_prompts_from_the_hub_cache(hub_cache):
    hub_cache.add_commit(HUB_DATASET, prompt_files(PROMPTS))
    loaded = load_prompt_sets(None, expect_count=False)
    assert loaded.styles == PROMPTS and HUB_DATASET in loaded.source
    with pytest.raises(PromptSetError, match=r"anime has 4 prompts, the benchmark has 800"):
        load_prompt_sets(None, expect_count=True)


def test_prompts_missing_style_file_named(hub_cache):
    hub_cache.add_commit(HUB_DATASET, prompt_files({s: PROMPTS[s] for s in STYLES[:3]}))
    with pytest.raises(PromptSetError) as info:
        load_prompt_sets(None, expect_count=False)
    message = str(info.value)
    assert "benchmark/photo.json is not in hub dataset zhwang/HPDv2" in message
    assert "not in the local hub cache" in message and "HPS_PROMPTS" in message


@pytest.fixture
def published_dataset(hub_cache):
    """zhwang/HPDv2 with the prompts and the archives of two published models, each
    unpacking with an extra top-level folder (``<abbr>/``); LAFITE's is a plain tar."""
    amap = archive_map()
    files = prompt_files(PROMPTS)
    files[f"{amap.folder}/glide.tar.gz"] = tar_bytes(model_images("glide", 0))
    files[f"{amap.folder}/Laf.tar.gz"] = tar_bytes(model_images("Laf", 7), gz=False)
    sha = hub_cache.add_commit(HUB_DATASET, files)
    return sha


@pytest.fixture
def cli_env(tmp_path, monkeypatch, tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    env = {
        "HPS_DATA_DIR": str(tmp_path / "data"),
        "HPS_CHECKPOINT": str(ckpt),
        "HPS_ARCH": str(arch),
        "HPS_DEVICE": "cpu",
        "HPS_PRECISION": "fp32",
        "HPS_PROMPT_COUNT_CHECK": "false",
        "HPS_WORKER_POLL_S": "0.1",
        "HPS_BATCH_SIZE": "8",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HPS_PROMPTS", raising=False)  # prompts come from the hub cache
    monkeypatch.delenv("HPS_DATABASE_URL", raising=False)
    return SubmissionSettings.from_env()


def test_reproduce_two_published_models(published_dataset, cli_env, tiny_scorer, tmp_path, capsys):
    assert main(["reproduce", "--version", "v2.1", "--model", "GLIDE", "Laf"]) == 0
    out = capsys.readouterr().out
    assert "GLIDE (v2.1" in out and "LAFITE (v2.1" in out and "DIFFERS" in out

    published = {r["model"]: r for r in load_published()["tables"]["v2.1"]}
    prompts = load_prompt_sets(None, expect_count=False)
    with Store.open(cli_env) as store:
        pairs = {r.model: r for r in store.reproductions("v2.1")}
        assert set(pairs) == {"GLIDE", "LAFITE"}
        rows = store.leaderboard("v2.1")
        for model, abbr, seed in (("GLIDE", "glide", 0), ("LAFITE", "Laf", 7)):
            pair = pairs[model]
            twins = [r for r in rows if r.model == model]
            assert sorted(r.kind for r in twins) == ["reported", "verified"]
            assert all(r.reproduction == pair for r in twins)
            # the reported side is the published table
            for column in (*STYLES, "averaged"):
                assert pair.reported[column] == published[model][column]
            # the verified side, against an independent scoring run of the same images
            folder = tmp_path / abbr
            for name, data in model_images(abbr, seed).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            direct = run_benchmark(tiny_scorer, folder / abbr, prompts, workers=0)
            for style in STYLES:
                assert pair.verified[style] == pytest.approx(direct.styles[style].mean, abs=1e-4)
                assert pair.difference[style] == pytest.approx(
                    direct.styles[style].mean - published[model][style], abs=1e-4
                )
            assert not pair.reproduced  # random weights are far from the published figures
            info = store.get_submission(pair.submission_id)
            assert info.status == "done" and info.images_total == 4 * N

        # a second run finds identical content: nothing is scored again
        count = len(store.list_submissions())
    assert main(["reproduce", "--version", "v2.1", "--model", "GLIDE", "--json"]) == 0
    (again,) = json.loads(capsys.readouterr().out)
    assert again["model"] == "GLIDE"
    with Store.open(cli_env) as store:
        assert len(store.list_submissions()) == count
