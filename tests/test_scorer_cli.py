"""The ``python -m scorer`` contract, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO


def run(args, env_extra=None, check_rc=0):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    for key in ("HPS_CHECKPOINT", "HPS_ARCH", "HPS_PROMPTS", "HPS_VERSION"):
        if env_extra is None or key not in env_extra:
            env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "scorer", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """The CLI writes its caches (persisted text embeddings) under HPS_DATA_DIR."""
    monkeypatch.setenv("HPS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def model_flags(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    # fp32: the CLI's numbers are checked against the fp32 library scorer
    return [
        "--checkpoint",
        str(ckpt),
        "--arch",
        str(arch),
        "--device",
        "cpu",
        "--precision",
        "fp32",
    ]


def make_images(folder, n, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 60, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_score_json_aligned_with_images(tmp_path, model_flags, tiny_scorer):
    paths = make_images(tmp_path, 3)
    proc = run(["score", *map(str, paths), "--prompt", "a blue whale", "--json", *model_flags])
    out = json.loads(proc.stdout)
    expected = tiny_scorer.score(paths, "a blue whale")
    assert out["images"] == [str(p) for p in paths]
    np.testing.assert_allclose(out["scores"], expected, atol=1e-4)
    assert out["version"] == "v2.1" and len(out["checkpoint_sha256"]) == 64


def test_env_settings_and_flag_override(tmp_path, tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    paths = make_images(tmp_path, 1)
    env = {"HPS_CHECKPOINT": str(ckpt), "HPS_ARCH": str(arch), "HPS_VERSION": "v2.0"}
    out = json.loads(run(["score", str(paths[0]), "--prompt", "x", "--json"], env).stdout)
    assert out["version"] == "v2.0"
    args = ["score", str(paths[0]), "--prompt", "x", "--json", "--version", "v2.1"]
    assert json.loads(run(args, env).stdout)["version"] == "v2.1"


def test_compare_json(tmp_path, model_flags, tiny_scorer):
    a, b = make_images(tmp_path, 2)
    out = json.loads(
        run(["compare", str(a), str(b), "--prompt", "a tree", "--json", *model_flags]).stdout
    )
    expected = tiny_scorer.compare(a, b, "a tree")
    assert out["prob_a"] == pytest.approx(expected.prob_a, abs=1e-4)
    assert out["preferred"] == expected.preferred


def test_bad_image_and_missing_checkpoint_exit_2(tmp_path, model_flags):
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    proc = run(["score", str(bad), "--prompt", "x", *model_flags], check_rc=2)
    assert "bad.jpg" in proc.stderr
    good = make_images(tmp_path, 1)[0]
    proc = run(["score", str(good), "--prompt", "x"], {"HF_HOME": str(tmp_path / "hf")}, 2)
    assert "HPS_CHECKPOINT" in proc.stderr and "v2.1" in proc.stderr


def test_bad_setting_names_variable(tmp_path, model_flags):
    good = make_images(tmp_path, 1)[0]
    proc = run(["score", str(good), "--prompt", "x", *model_flags], {"HPS_BATCH_SIZE": "lots"}, 2)
    assert "HPS_BATCH_SIZE" in proc.stderr


def test_benchmark_folder(tmp_path, model_flags, tiny_scorer, real_prompts_path):
    prompts = json.loads(real_prompts_path.read_text())
    root = tmp_path / "bench"
    rng = np.random.default_rng(7)
    present = {"anime": [0, 1, 2, 85], "concept-art": [3], "paintings": [0, 799], "photo": [10, 11]}
    for style, indices in present.items():
        (root / style).mkdir(parents=True)
        for i in indices:
            img = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
            img.save(root / style / f"{i:05d}.{'png' if i % 2 else 'jpg'}")
    (root / "photo" / "readme.txt").write_text("ignored")
    out_path = tmp_path / "result.json"
    proc = run(
        [
            "benchmark",
            str(root),
            "--prompts",
            str(real_prompts_path),
            "--json",
            str(out_path),
            "--batch-size",
            "3",
            *model_flags,
        ]
    )
    out = json.loads(out_path.read_text())
    assert set(out) >= {"version", "checkpoint_sha256", "precision", "styles", "averaged", "scores"}
    for style, indices in present.items():
        scores = out["scores"][style]
        assert len(scores) == 800
        assert [i for i, s in enumerate(scores) if s is not None] == indices
        files = sorted((root / style).glob("0*"))
        expected = [tiny_scorer.score([f], prompts[style][int(f.stem)])[0] for f in files]
        np.testing.assert_allclose([scores[i] for i in indices], expected, atol=1e-4)
        # official statistics, computed here from the per-image scores by hand
        chunk_means = [
            np.mean([scores[i] for i in indices if c * 80 <= i < (c + 1) * 80])
            for c in range(10)
            if any(c * 80 <= i < (c + 1) * 80 for i in indices)
        ]
        assert out["styles"][style]["mean"] == pytest.approx(np.mean(chunk_means), abs=1e-6)
        assert out["styles"][style]["std"] == pytest.approx(np.std(chunk_means), abs=1e-6)
        assert out["styles"][style]["n"] == len(indices)
    means = [out["styles"][s]["mean"] for s in present]
    assert out["averaged"] == pytest.approx(np.mean(means), abs=1e-6)
    assert "missing anime: 796 images" in proc.stderr
    assert "Averaged" in proc.stdout


def test_benchmark_unknown_layout(tmp_path, model_flags, real_prompts_path):
    (tmp_path / "Animation").mkdir()
    proc = run(
        ["benchmark", str(tmp_path), "--prompts", str(real_prompts_path), *model_flags], check_rc=2
    )
    assert "Animation" in proc.stderr and "anime" in proc.stderr


def test_benchmark_honours_prompt_count_check(tmp_path, model_flags):
    """A 6-per-style prompt set with HPS_PROMPT_COUNT_CHECK=false, as the rest of the app."""
    from scorer.benchmark import index_style_folder
    from tests.conftest import make_benchmark, write_small_prompts

    prompts = write_small_prompts(tmp_path / "small.json")
    root = make_benchmark(tmp_path / "bench")
    (root / "photo" / "０００００.png").write_bytes((root / "photo" / "00000.png").read_bytes())
    args = ["benchmark", str(root), "--prompts", str(prompts), *model_flags]
    proc = run(args, {"HPS_PROMPT_COUNT_CHECK": "false"}, 0)
    assert "Averaged" in proc.stdout
    proc = run(args, None, 2)
    assert "has 6 prompts, the benchmark has 800" in proc.stderr
    found, ignored = index_style_folder(root / "photo", 6)  # full-width digits: not an index
    assert sorted(found) == list(range(6)) and ignored == ["０００００.png"]


def test_unusable_data_dir_is_one_line(tmp_path, model_flags):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    root = make_images(tmp_path, 1)[0].parent
    prompts_path = tmp_path / "p.json"
    from tests.conftest import write_small_prompts

    write_small_prompts(prompts_path)
    args = ["benchmark", str(root), "--prompts", str(prompts_path), *model_flags]
    env = {"HPS_DATA_DIR": str(blocker / "data"), "HPS_PROMPT_COUNT_CHECK": "false"}
    proc = run(args, env, 2)
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error")]
    assert "HPS_DATA_DIR=" in line and "Traceback" not in proc.stderr
