"""ZeroGPU calls (scorer.gpu) and hub files with a persistent cache (scorer.zoo.hub_file).

No GPU and no network: the CPU path is checked with the ``spaces`` package installed, the
GPU-call path by running its body on CPU, and the ZeroGPU wiring in a process where the
``spaces`` package itself emulates ZeroGPU (it never reaches its scheduler: nothing is
scored there)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from scorer import gpu, load_scorer
from scorer.errors import CheckpointError
from scorer.zoo import resolve_checkpoint
from tests.conftest import REPO


def images(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.rand(n, 3, 224, 224, generator=g) * 2 - 1


def test_cpu_path_is_unchanged_with_spaces_installed(monkeypatch, tiny_scorer):
    import spaces

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert not gpu.zero_gpu()
    assert gpu.forward is gpu.batch_forward  # not decorated off ZeroGPU
    assert spaces.GPU(gpu.batch_forward) is gpu.batch_forward  # the package agrees
    assert tiny_scorer._gpu_key is None
    monkeypatch.setenv("SPACES_ZERO_GPU", "false")
    assert not gpu.zero_gpu()


def test_the_gpu_call_path_scores_as_the_plain_path_and_keeps_text(
    tiny_checkpoint, tiny_scorer, color_images
):
    ckpt, arch = tiny_checkpoint
    routed = load_scorer(
        checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32", zero_gpu=True
    )
    assert routed._gpu_key is not None
    pixels = images(3)
    prompts = ["a red house", "a blue car", "a red house"]
    expected = tiny_scorer.score_pixels(pixels, prompts)
    np.testing.assert_allclose(routed.score_pixels(pixels, prompts), expected, atol=1e-5)
    # the call's text embeddings came back to the caller's cache (the fork's is discarded)
    kept = routed.cached_text_embeddings(prompts)
    assert set(kept) == {"a red house", "a blue car"}
    np.testing.assert_allclose(
        kept["a blue car"], tiny_scorer.cached_text_embeddings(["a blue car"])["a blue car"]
    )
    # live scoring (Score, Compare) goes through it batch by batch
    scores = routed.score(color_images, "a cat", batch_size=2)
    np.testing.assert_allclose(scores, tiny_scorer.score(color_images, "a cat"), atol=1e-5)
    result = routed.compare(color_images[0], color_images[1], "a cat")
    assert result.prob_a == pytest.approx(tiny_scorer.compare(*color_images[:2], "a cat").prob_a)


def test_gpu_duration_is_sized_to_the_batch():
    assert gpu.duration_s(8, 15.0, 0.05) == 15
    assert gpu.duration_s(64, 15.0, 0.05) == 18
    assert gpu.duration_s(800, 15.0, 0.05) == 55
    assert gpu.duration_s(0, 0.0, 0.0) == 1


def test_a_scorer_unknown_to_the_gpu_process_is_a_clear_error():
    with pytest.raises(RuntimeError, match="loaded after this GPU process started"):
        gpu.batch_forward(10**9, images(1), ["x"], {}, 1)


ZERO = """
import sys
import scorer.gpu as g
from spaces.zero.decorator import decorated_cache
from scorer import load_scorer

assert g.zero_gpu()
assert g.forward is not g.batch_forward and decorated_cache[g.batch_forward] is g.forward
s = load_scorer(checkpoint=sys.argv[1], arch=sys.argv[2])
print(s.device.type, s.precision, s._gpu_key is not None)
"""


@pytest.mark.slow
def test_on_zerogpu_batches_go_to_a_registered_spaces_gpu_function(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    env = dict(os.environ)
    # the spaces package's own ZeroGPU mode; its scheduler URL is never reached here
    env.update(SPACES_ZERO_GPU="true", SPACES_ZERO_DEVICE_API_URL="http://127.0.0.1:9/")
    out = subprocess.run(
        [sys.executable, "-c", ZERO, str(ckpt), str(arch)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # auto device and precision: CUDA with fp16 autocast, as the official evaluation
    assert out.stdout.split() == ["cuda", "fp16", "True"]


# --- hub files: the preloaded cache first, then HPS_HUB_CACHE ---------------------------


def hub_cache_with(root, repo_id: str, filename: str, data: bytes, *, kind: str = "models"):
    """A huggingface_hub cache laid out as the library lays it out."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = root / f"{kind}--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    target = repo / "snapshots" / sha / filename
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    return target


def test_checkpoint_from_the_persistent_hub_cache_offline(tmp_path):
    cache = tmp_path / "bucket" / ".huggingface" / "hub"
    target = hub_cache_with(cache, "xswu/HPSv2", "HPS_v2.1_compressed.pt", b"weights")
    assert resolve_checkpoint("v2.1", hub_cache=str(cache)) == target
    with pytest.raises(CheckpointError, match="HPS_v2_compressed.pt"):
        resolve_checkpoint("v2.0", hub_cache=str(cache))


PRELOADED = """
import sys
from scorer.zoo import resolve_checkpoint
from scorer.prompts import load_prompt_sets
print(resolve_checkpoint("v2.1", hub_cache=sys.argv[1]))
print(load_prompt_sets(hub_cache=sys.argv[1], expect_count=False).styles["photo"][0])
"""


def test_files_preloaded_into_the_default_cache_are_used_before_the_persistent_one(tmp_path):
    """A Space's preload_from_hub fills the library's default cache (HF_HOME/hub) at build
    time; with HPS_HUB_CACHE on persistent storage those files are still found."""
    import json

    from scorer.protocol import STYLES

    default = tmp_path / "home" / "hub"
    target = hub_cache_with(default, "xswu/HPSv2", "HPS_v2.1_compressed.pt", b"weights")
    persistent = tmp_path / "bucket"  # the prompts are only here, all four in one snapshot
    first = hub_cache_with(
        persistent, "zhwang/HPDv2", f"benchmark/{STYLES[0]}.json", b"[]", kind="datasets"
    )
    for style in STYLES:
        (first.parent / f"{style}.json").write_text(json.dumps([f"{style} prompt"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
    out = subprocess.run(
        [sys.executable, "-c", PRELOADED, str(persistent)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == [str(target), "photo prompt"]
