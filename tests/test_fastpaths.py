"""Fast paths give the plain path's results (equivalence, not timing).

- bf16 weights cast in place over the checkpoint's memory map == a plain ``.to(bf16)`` of
  the checkpoint tensors (LayerNorm and the logit scale fp32 from the checkpoint's values),
  and the checkpoint file is left untouched;
- fp32 weights cast with the checkpoint's pages released == a plain ``.float()``; released
  pages read back the file's values;
- the text tower run sequence-first == batch-first;
- persisted text embeddings (``scorer.textcache``) == encoding the prompts;
- decoding in worker threads == decoding inline.
"""

from __future__ import annotations

import hashlib
import math

import pytest
import torch

from scorer import load_scorer
from scorer.benchmark import run_benchmark
from scorer.prompts import load_prompt_sets
from scorer.textcache import cache_path, warm_text_cache
from tests.conftest import make_benchmark, write_small_prompts


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def bf16_scorer(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    return load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")


@pytest.fixture
def bench(tmp_path):
    prompts = load_prompt_sets(write_small_prompts(tmp_path / "p.json"), expect_count=False)
    folder = make_benchmark(tmp_path / "bench", missing={("photo", 2)})
    return folder, prompts


def test_bf16_cast_equals_plain_cast_and_file_untouched(tmp_path, tiny_checkpoint):
    tiny, arch = tiny_checkpoint
    # LayerNorm weights that bf16 cannot hold exactly, so a detour through bf16 would show
    state = torch.load(tiny, map_location="cpu", weights_only=True)["state_dict"]
    gen = torch.Generator().manual_seed(0)
    for name, t in state.items():
        if "ln" in name:
            state[name] = (1 + 0.1 * torch.randn(t.shape, generator=gen)).half()
    ckpt = tmp_path / "ln.pt"
    torch.save({"state_dict": state}, ckpt)
    before = _sha(ckpt)
    scorer = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    reference = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert all(t.dtype == torch.float16 for t in reference.values() if t.is_floating_point())
    layer_norms = {
        name
        for name, module in scorer.model.named_modules()
        if isinstance(module, torch.nn.LayerNorm)
    }
    loaded = scorer.model.state_dict()
    for name, plain in reference.items():
        owner = name.rsplit(".", 1)[0]
        fp32 = owner in layer_norms or plain.ndim == 0
        expected = plain.to(torch.float32 if fp32 else torch.bfloat16)
        assert loaded[name].dtype == expected.dtype, name
        assert torch.equal(loaded[name], expected), name
    ln_weight = reference["ln_final.weight"]
    assert not torch.equal(ln_weight.to(torch.bfloat16).float(), ln_weight.float())
    # the in-place cast wrote into private copy-on-write pages, never into the file
    assert _sha(ckpt) == before
    again = torch.load(ckpt, map_location="cpu", mmap=True, weights_only=True)["state_dict"]
    assert all(torch.equal(again[k], reference[k]) for k in reference)
    # the logit scale kept its fp32 value: compare() uses the checkpoint's temperature
    assert scorer.logit_scale == pytest.approx(math.exp(float(reference["logit_scale"])))


def test_fp32_cast_equals_plain_float_and_released_pages_read_back(tiny_checkpoint):
    from scorer.model import _file_map_ranges, _release_file_pages

    ckpt, arch = tiny_checkpoint
    before = _sha(ckpt)
    scorer = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    reference = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    loaded = scorer.model.state_dict()
    for name, plain in reference.items():
        assert loaded[name].dtype == torch.float32, name
        assert torch.equal(loaded[name], plain.float()), name
    assert _sha(ckpt) == before
    # a mapped tensor whose pages were released reads back the file's values
    mapped_state = torch.load(ckpt, map_location="cpu", mmap=True, weights_only=True)
    ranges = _file_map_ranges(ckpt)
    assert ranges, "the checkpoint should be memory-mapped"
    big = max(mapped_state["state_dict"].values(), key=lambda t: t.nbytes)
    _release_file_pages(big, ranges)
    name = next(k for k, v in mapped_state["state_dict"].items() if v is big)
    assert torch.equal(big, reference[name])
    # memory that is not the checkpoint's map is never released
    anon = reference[name].clone()
    _release_file_pages(anon, ranges)
    assert torch.equal(anon, reference[name])


def test_text_seq_first_equals_batch_first(bf16_scorer):
    model = bf16_scorer.model
    tokens = bf16_scorer.tokenizer(["a red house", "an astronaut riding a horse", "x"])
    attns = [m for m in model.transformer.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    assert attns and not model.transformer.batch_first
    with torch.inference_mode():
        fast = model.encode_text(tokens)
        try:
            model.transformer.batch_first = True
            for m in attns:
                m.batch_first = True
            plain = model.encode_text(tokens)
        finally:
            model.transformer.batch_first = False
            for m in attns:
                m.batch_first = False
    torch.testing.assert_close(fast, plain, rtol=0, atol=1e-6)


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


def test_text_cache_of_other_precision_or_corrupt_is_ignored(tmp_path, tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    cache = tmp_path / "text_cache"
    prompts = ["a red house", "a blue car"]
    fp32 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    bf16 = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    assert warm_text_cache(fp32, prompts, cache) == 2
    assert warm_text_cache(bf16, prompts, cache) == 2  # own file, not fp32's
    assert cache_path(cache, fp32) != cache_path(cache, bf16)
    # a file whose key names another precision is not used, even under this name
    cache_path(cache, bf16).write_bytes(cache_path(cache, fp32).read_bytes())
    fresh = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="bf16")
    assert warm_text_cache(fresh, prompts, cache) == 2
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
