"""Fast paths give the plain path's results (equivalence, not timing).

- the bf16 image tower (:mod:`scorer.bf16`): split weights exact, blocks close to fp32,
  everything but the blocks' matmul weights fp32, text embeddings equal to fp32's, the
  checkpoint file untouched; fp16 refused on CPU;
- the lazy text tower == the eager one, loaded only when a prompt must be encoded;
- fp32 weights cast with the checkpoint's pages released == a plain ``.float()``; released
  pages read back the file's values;
- persisted text embeddings (``scorer.textcache``) == encoding the prompts;
- decoding in worker threads == decoding inline.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from scorer import load_scorer
from scorer.benchmark import run_benchmark
from scorer.bf16 import Bf16Block, split_bf16
from scorer.errors import CheckpointError, ConfigError
from scorer.prompts import load_prompt_sets
from scorer.textcache import cache_path, warm_text_cache
from scorer.tiny import make_tiny_checkpoint
from tests.conftest import make_benchmark, write_small_prompts
from tests.test_scorer import images


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def bench(tmp_path):
    prompts = load_prompt_sets(write_small_prompts(tmp_path / "p.json"), expect_count=False)
    folder = make_benchmark(tmp_path / "bench", missing={("photo", 2)})
    return folder, prompts


def test_split_bf16_is_exact_for_fp16_weights():
    gen = torch.Generator().manual_seed(3)
    w = (torch.randn(64, 48, generator=gen) * torch.logspace(-4, 1, 48)).half()
    split = split_bf16(w)
    hi, lo = split[:64], split[64:]
    assert hi.dtype == lo.dtype == torch.bfloat16
    assert torch.equal(hi.float() + lo.float(), w.float())
    assert not torch.equal(hi.float(), w.float())  # bf16 alone cannot hold these weights


def test_bf16_load_converts_image_blocks_and_leaves_the_file(tmp_path, tiny_checkpoint):
    tiny, arch = tiny_checkpoint
    before = _sha(tiny)
    fp32 = load_scorer(checkpoint=str(tiny), arch=str(arch), device="cpu", precision="fp32")
    bf16 = load_scorer(checkpoint=str(tiny), arch=str(arch), device="cpu", precision="bf16")
    blocks = list(bf16.model.visual.transformer.resblocks)
    assert blocks and all(isinstance(b, Bf16Block) for b in blocks)
    # only the blocks' matmul operands are bf16: stream, LayerNorms, stem, head, text are fp32
    bf16_entries = {"w_qk", "b_qk", "w_v", "w_o", "w_fc", "b_fc", "w_proj", "b_proj"}
    for name, t in bf16.model.state_dict().items():
        low = name.startswith("visual.transformer.") and name.rsplit(".", 1)[1] in bf16_entries
        if t.is_floating_point():
            assert t.dtype == (torch.bfloat16 if low else torch.float32), name
    assert _sha(tiny) == before  # the checkpoint's private map was never written back
    # the text tower runs in fp32 at bf16: text embeddings equal fp32's exactly
    prompts = ["a red house", "an astronaut riding a horse"]
    assert torch.equal(bf16.encode_texts(prompts), fp32.encode_texts(prompts))
    assert bf16.logit_scale == fp32.logit_scale


def test_bf16_block_close_to_fp32_block(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    fp32 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    gen = torch.Generator().manual_seed(1)
    for block in fp32.model.visual.transformer.resblocks:
        x = torch.randn(3, 50, block.ln_1.normalized_shape[0], generator=gen)
        with torch.inference_mode():
            expected = block(x)
            got = Bf16Block(block)(x)
        assert got.dtype == torch.float32
        # bf16 inputs carry 8 significant bits: each matmul is off by ~2^-8 relative
        rel = (got - expected).norm() / expected.norm()
        assert rel < 1e-2, rel


def test_bf16_scores_close_to_fp32(tiny_checkpoint, tiny_scorer):
    ckpt, arch = tiny_checkpoint
    bf16 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    imgs = images(6, seed=6)
    low = np.array(bf16.score(imgs, "a mountain lake"))
    full = np.array(tiny_scorer.score(imgs, "a mountain lake"))
    spread = full.max() - full.min()
    assert spread > 0
    np.testing.assert_allclose(low, full, atol=0.02 * spread)


def test_fp16_on_cpu_is_refused(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    with pytest.raises(ConfigError) as info:
        load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp16")
    assert "fp16" in str(info.value) and "bf16" in str(info.value)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_lazy_text_tower_loads_on_first_prompt(tiny_checkpoint, precision):
    ckpt, arch = tiny_checkpoint
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision=precision)
    eager = load_scorer(**kw)
    lazy = load_scorer(lazy_text=True, **kw)
    assert eager.text_loaded and not lazy.text_loaded
    assert lazy.model.text_projection.is_meta and not lazy.model.visual.proj.is_meta
    imgs = images(3, seed=2)
    # embeddings set from outside (a warm text cache) score without loading the tower
    prompts = ["a cat on a mat"]
    lazy.set_text_embeddings(prompts, eager.encode_texts(prompts))
    assert lazy.score(imgs, prompts[0]) == eager.score(imgs, prompts[0])
    assert not lazy.text_loaded
    # a new prompt loads it, and it gives the eager tower's embeddings
    new = ["a dog in the snow", "x"]
    assert torch.equal(lazy.encode_texts(new), eager.encode_texts(new))
    assert lazy.text_loaded and not lazy.model.text_projection.is_meta
    assert lazy.score(imgs, new[0]) == eager.score(imgs, new[0])


def test_text_tower_released_and_loaded_again(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    eager = load_scorer(**kw)
    lazy = load_scorer(lazy_text=True, **kw)
    assert not lazy.release_text_tower()  # not loaded yet: nothing to release
    first = ["a lighthouse at dusk"]
    lazy.encode_texts(first)
    assert lazy.text_loaded
    assert lazy.release_text_tower()
    assert not lazy.text_loaded and lazy.model.text_projection.is_meta
    assert lazy.model.token_embedding.weight.is_meta
    assert not lazy.model.visual.proj.is_meta  # the image tower stays
    # embeddings already encoded are kept; a new prompt loads the tower again
    assert torch.equal(lazy.encode_texts(first), eager.encode_texts(first))
    assert not lazy.text_loaded
    second = ["a fox in tall grass"]
    assert torch.equal(lazy.encode_texts(second), eager.encode_texts(second))
    assert lazy.text_loaded
    # an eagerly loaded scorer keeps its tower
    assert not eager.release_text_tower() and eager.text_loaded


def test_lazy_text_tower_still_checks_the_text_weights(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    state["text_projection"] = torch.full_like(state["text_projection"], float("nan"))
    path = tmp_path / "nan-text.pt"
    torch.save({"state_dict": state}, path)
    lazy = load_scorer(checkpoint=str(path), arch=str(tiny_checkpoint[1]), lazy_text=True)
    with pytest.raises(CheckpointError) as info:
        lazy.encode_texts(["a photo of a cat"])
    assert "non-finite" in str(info.value) and "text_projection" in str(info.value)


def test_lazy_text_tower_checks_keys_up_front(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    del state["ln_final.weight"]
    path = tmp_path / "no-ln.pt"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError) as info:
        load_scorer(checkpoint=str(path), arch=str(tiny_checkpoint[1]), lazy_text=True)
    assert "ln_final.weight" in str(info.value) and "missing" in str(info.value)


def test_fp32_cast_equals_plain_float(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    before = _sha(ckpt)
    scorer = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    reference = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    loaded = scorer.model.state_dict()
    for name, plain in reference.items():
        assert loaded[name].dtype == torch.float32, name
        assert torch.equal(loaded[name], plain.float()), name
    assert _sha(ckpt) == before


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_prepared_weights_equal_the_checkpoint_path(tmp_path, tiny_checkpoint, precision):
    """The safetensors copy holds exactly the tensors the checkpoint path computes; it is
    written once and memory-mapped by later loads; the checkpoint is never touched."""
    ckpt, arch = tiny_checkpoint
    before = _sha(ckpt)
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision=precision)
    direct = load_scorer(**kw)
    weights = tmp_path / "weights"
    first = load_scorer(**kw, weights_dir=weights)
    (made,) = weights.glob("*.safetensors")
    stamp = made.stat().st_mtime_ns
    second = load_scorer(**kw, weights_dir=weights)
    assert made.stat().st_mtime_ns == stamp  # reused, not rewritten
    reference = direct.model.state_dict()
    for scorer in (first, second):
        state = scorer.model.state_dict()
        assert set(state) == set(reference)
        for name, t in reference.items():
            assert state[name].dtype == t.dtype and torch.equal(state[name], t), name
    pixels = torch.rand(3, 3, 224, 224)
    prompts = ["a cat", "a dog", "a cat"]
    assert second.score_pixels(pixels, prompts) == direct.score_pixels(pixels, prompts)
    assert _sha(ckpt) == before


def test_stale_or_broken_prepared_weights_are_rebuilt(tmp_path, tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    weights = tmp_path / "weights"
    good = load_scorer(**kw, weights_dir=weights)
    (made,) = weights.glob("*.safetensors")
    # a truncated file (a crash while writing: a new file, so the map of `good` stays whole)
    broken = made.with_suffix(".broken")
    broken.write_bytes(made.read_bytes()[: made.stat().st_size // 2])
    broken.replace(made)
    again = load_scorer(**kw, weights_dir=weights)
    assert made.stat().st_size > 0
    pixels = torch.rand(2, 3, 224, 224)
    assert again.score_pixels(pixels, ["x", "y"]) == good.score_pixels(pixels, ["x", "y"])
    # a file of the same name made from other weights (another seed) is not used either
    other, _ = make_tiny_checkpoint(tmp_path / "other", seed=1)
    made.unlink()
    load_scorer(**{**kw, "checkpoint": str(other)}, weights_dir=tmp_path / "w2")
    (made_other,) = (tmp_path / "w2").glob("*.safetensors")
    made_other.rename(made)
    third = load_scorer(**kw, weights_dir=weights)
    assert third.score_pixels(pixels, ["x", "y"]) == good.score_pixels(pixels, ["x", "y"])


def test_unwritable_weights_dir_falls_back_to_the_checkpoint(tmp_path, tiny_checkpoint, caplog):
    ckpt, arch = tiny_checkpoint
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    with caplog.at_level(logging.WARNING, logger="scorer.loading"):
        scorer = load_scorer(**kw, weights_dir=blocker / "weights")
    assert "prepared weights not written" in caplog.text
    pixels = torch.rand(2, 3, 224, 224)
    direct = load_scorer(**kw)
    assert scorer.score_pixels(pixels, ["x", "y"]) == direct.score_pixels(pixels, ["x", "y"])


def test_lazy_text_tower_from_prepared_weights(tmp_path, tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    kw = dict(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    lazy = load_scorer(**kw, weights_dir=tmp_path / "w", lazy_text=True)
    assert not lazy.text_loaded
    eager = load_scorer(**kw)
    assert torch.equal(lazy.encode_texts(["a red house"]), eager.encode_texts(["a red house"]))
    assert lazy.text_loaded


def test_open_clip_random_init_warning_is_filtered_only(tiny_checkpoint, caplog):
    """open_clip's "initialized randomly" warning is dropped; other warnings still show."""
    ckpt, arch = tiny_checkpoint
    with caplog.at_level(logging.INFO):
        load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
        logging.getLogger().warning("an unrelated warning")
    assert "initialized randomly" not in caplog.text
    assert "an unrelated warning" in caplog.text
    assert logging.root.manager.disable == logging.NOTSET  # logging is never switched off


def test_text_cache_equals_encoding(tmp_path, tiny_checkpoint, bench):
    folder, prompts = bench
    ckpt, arch = tiny_checkpoint

    def fresh():
        return load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")

    plain = run_benchmark(fresh(), folder, prompts, workers=0)
    cache = tmp_path / "text_cache"
    first = run_benchmark(fresh(), folder, prompts, workers=0, text_cache=cache)
    assert cache_path(cache, fresh()).is_file()
    warm = fresh()
    wanted = [
        p
        for style, style_prompts in prompts.styles.items()
        for i, p in enumerate(style_prompts)
        if (style, i) != ("photo", 2)  # the missing image: its prompt is never needed
    ]
    assert warm_text_cache(warm, wanted, cache) == 0  # everything came from the file
    second = run_benchmark(warm, folder, prompts, workers=0, text_cache=cache)
    for result in (first, second):
        for style, values in plain.scores.items():
            got = result.scores[style]
            assert [v is None for v in got] == [v is None for v in values]
            present = [(a, b) for a, b in zip(got, values) if b is not None]
            assert present and all(abs(a - b) < 1e-5 for a, b in present)
    assert second.scores["photo"][2] is None


def test_text_cache_shared_by_cpu_precisions_other_key_or_corrupt_ignored(
    tmp_path, tiny_checkpoint
):
    ckpt, arch = tiny_checkpoint
    cache = tmp_path / "text_cache"
    prompts = ["a red house", "a blue car"]
    fp32 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    bf16 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    assert warm_text_cache(fp32, prompts, cache) == 2
    # both CPU precisions run the text tower in fp32: one file, encoded once
    assert cache_path(cache, fp32) == cache_path(cache, bf16)
    assert warm_text_cache(bf16, prompts, cache) == 0
    # a file whose key names another checkpoint is not used, even under this name
    other = tmp_path / "other.pt"
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    state["text_projection"] = state["text_projection"] * 2
    torch.save({"state_dict": state}, other)
    scorer2 = load_scorer(checkpoint=str(other), arch=str(arch), device="cpu", precision="fp32")
    cache_path(cache, scorer2).write_bytes(cache_path(cache, fp32).read_bytes())
    assert warm_text_cache(scorer2, prompts, cache) == 2
    # a corrupt file is ignored and rewritten
    cache_path(cache, fp32).write_bytes(b"not a torch file")
    fresh32 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    assert warm_text_cache(fresh32, prompts, cache) == 2
    expected = fp32.encode_texts(prompts)
    torch.testing.assert_close(fresh32.encode_texts(prompts), expected, rtol=0, atol=1e-6)
    reread = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    assert warm_text_cache(reread, prompts, cache) == 0


def test_threaded_decode_equals_inline(tiny_scorer, bench):
    folder, prompts = bench
    inline = run_benchmark(tiny_scorer, folder, prompts, workers=0, batch_size=3)
    threaded = run_benchmark(tiny_scorer, folder, prompts, workers=3, batch_size=3)
    assert threaded.scores == inline.scores


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def test_auto_precision_on_cpu_follows_native_bf16():
    from scorer.device import resolve_precision

    flags = _cpuinfo_flags()
    native = bool({"avx512_bf16", "amx_bf16"} & flags)
    assert resolve_precision("auto", torch.device("cpu")) == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
