"""The scorer against an independent path: open_clip's own loader and encoders."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from scorer import CheckpointError, ConfigError, load_scorer
from scorer.preprocess import preprocess


def images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(96, 64), (64, 96), (50, 50), (300, 120), (224, 40), (33, 77), (128, 128)]
    out = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        out.append(Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)))
    return out


@pytest.fixture(scope="module")
def reference_model(tiny_checkpoint):
    """The same checkpoint loaded the ordinary open_clip way (CPU init + load_checkpoint)."""
    ckpt, arch = tiny_checkpoint
    open_clip.add_model_config(arch)
    model = open_clip.create_model(arch.stem, pretrained=str(ckpt)).float().eval()
    return model, open_clip.get_tokenizer(arch.stem)


def reference_scores(reference_model, imgs, prompts) -> list[float]:
    model, tokenizer = reference_model
    with torch.no_grad():
        img = model.encode_image(torch.stack([preprocess(i) for i in imgs]))
        txt = model.encode_text(tokenizer(prompts))
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return (100 * (img * txt).sum(-1)).tolist()


def test_scores_equal_independent_open_clip(tiny_scorer, reference_model):
    imgs = images(7)
    ours = tiny_scorer.score(imgs, "a watercolour fox in the snow")
    ref = reference_scores(reference_model, imgs, ["a watercolour fox in the snow"] * 7)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert len(set(np.round(ours, 4))) > 1  # the inputs really differ


def test_per_item_prompts_equal_reference(tiny_scorer, reference_model):
    imgs = images(4, seed=3)
    prompts = ["a cat", "a dog", "a cat", "an astronaut riding a horse"]
    pixels = torch.stack([preprocess(i) for i in imgs])
    ours = tiny_scorer.score_pixels(pixels, prompts)
    np.testing.assert_allclose(ours, reference_scores(reference_model, imgs, prompts), atol=1e-4)


def test_attn_mask_rebuilt_causal(tiny_scorer, reference_model):
    torch.testing.assert_close(tiny_scorer.model.attn_mask, reference_model[0].attn_mask)


def test_batch_size_invariance(tiny_scorer):
    imgs = images(7, seed=1)
    one = tiny_scorer.score(imgs, "a red bicycle", batch_size=1)
    three = tiny_scorer.score(imgs, "a red bicycle", batch_size=3)
    seven = tiny_scorer.score(imgs, "a red bicycle", batch_size=7)
    np.testing.assert_allclose(one, three, atol=1e-4)
    np.testing.assert_allclose(one, seven, atol=1e-4)


def test_text_cache_gives_same_result_without_encoding_again(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    scorer = load_scorer(checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32")
    imgs = images(3, seed=2)
    encoded = scorer.texts_encoded
    first = scorer.score(imgs, "a lighthouse at dusk")
    assert scorer.texts_encoded == encoded + 1  # one distinct prompt, through the tower once
    second = scorer.score(imgs, "a lighthouse at dusk")
    assert scorer.texts_encoded == encoded + 1  # the second call took it from the cache
    assert first == second


def test_text_cache_is_bounded_least_recently_used_first(tiny_checkpoint):
    ckpt, arch = tiny_checkpoint
    scorer = load_scorer(
        checkpoint=str(ckpt), arch=str(arch), device="cpu", precision="fp32", text_cache_size=2
    )
    start = scorer.texts_encoded
    a = scorer.encode_texts(["a", "b"])
    scorer.encode_texts(["a"])  # "a" is now the most recently used
    scorer.encode_texts(["c"])  # evicts "b"
    assert scorer.texts_encoded == start + 3
    assert set(scorer.cached_text_embeddings(["a", "b", "c"])) == {"a", "c"}
    again = scorer.encode_texts(["a", "b"])  # "b" encoded again, same embedding
    assert scorer.texts_encoded == start + 4
    assert torch.allclose(a, again, atol=1e-6)  # equal up to batch-composition rounding
    # more distinct prompts in one call than the cache holds still come back whole
    rows = scorer.encode_texts(["p", "q", "r", "p"])
    assert rows.shape[0] == 4 and torch.equal(rows[0], rows[3])


def test_rank_sorted_best_first(tiny_scorer):
    imgs = images(5, seed=4)
    scores = tiny_scorer.score(imgs, "a city skyline")
    ranked = tiny_scorer.rank(imgs, "a city skyline")
    assert [r.index for r in ranked] == sorted(range(5), key=lambda i: -scores[i])
    assert [r.score for r in ranked] == sorted(scores, reverse=True)


def test_compare_probability(tiny_scorer, tiny_checkpoint):
    a, b = images(2, seed=5)
    result = tiny_scorer.compare(a, b, "a bowl of fruit")
    sa, sb = tiny_scorer.score([a, b], "a bowl of fruit")
    assert result.score_a == pytest.approx(sa, abs=1e-4)
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    scale = math.exp(float(state["logit_scale"]))
    expected = 1 / (1 + math.exp(-scale * (sa - sb) / 100))
    assert result.prob_a == pytest.approx(expected, abs=1e-4)
    swapped = tiny_scorer.compare(b, a, "a bowl of fruit")
    assert result.prob_a + swapped.prob_a == pytest.approx(1.0, abs=1e-6)
    assert result.preferred == ("A" if sa >= sb else "B")


def test_checkpoint_sha256_recorded(tiny_scorer, tiny_checkpoint):
    expected = hashlib.sha256(tiny_checkpoint[0].read_bytes()).hexdigest()
    assert tiny_scorer.checkpoint_sha256 == expected
    assert tiny_scorer.describe()["checkpoint_sha256"] == expected


def test_module_prefix_and_bare_state_dict(tmp_path, tiny_checkpoint, tiny_scorer):
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    prefixed = tmp_path / "ddp.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, prefixed)
    scorer = load_scorer(
        checkpoint=str(prefixed), arch=str(tiny_checkpoint[1]), device="cpu", precision="fp32"
    )
    imgs = images(2)
    np.testing.assert_allclose(scorer.score(imgs, "x"), tiny_scorer.score(imgs, "x"), atol=1e-5)


def test_missing_checkpoint_file_names_version_and_path(tmp_path):
    with pytest.raises(CheckpointError) as info:
        load_scorer(version="v2.0", checkpoint=str(tmp_path / "nope.pt"))
    assert "v2.0" in str(info.value) and "nope.pt" in str(info.value)


def test_offline_without_checkpoint_explains_how_to_provide_one(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(CheckpointError) as info:
        load_scorer(version="v2.1")
    text = str(info.value)
    assert "v2.1" in text and "xswu/HPSv2" in text and "HPS_v2.1_compressed.pt" in text
    assert "HPS_CHECKPOINT" in text


def test_corrupt_checkpoint(tmp_path, tiny_checkpoint):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        load_scorer(checkpoint=str(bad), arch=str(tiny_checkpoint[1]))
    assert "bad.pt" in str(info.value)


def test_checkpoint_for_other_architecture(tiny_checkpoint):
    with pytest.raises(CheckpointError) as info:
        load_scorer(checkpoint=str(tiny_checkpoint[0]), arch="RN50")
    assert "RN50" in str(info.value)


def test_non_finite_weights_rejected(tmp_path, tiny_checkpoint):
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    state["text_projection"] = torch.full_like(state["text_projection"], float("nan"))
    path = tmp_path / "nan.pt"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError) as info:
        load_scorer(checkpoint=str(path), arch=str(tiny_checkpoint[1]))
    assert "non-finite" in str(info.value)


@pytest.mark.parametrize("key", ["visual.proj", "visual.transformer.resblocks.1.mlp.c_fc.weight"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_one_bad_vision_weight_rejected_by_name(tmp_path, tiny_checkpoint, key, value, precision):
    state = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    state[key] = state[key].clone()
    state[key].view(-1)[7] = value
    path = tmp_path / "bad-vision.pt"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError) as info:
        load_scorer(
            checkpoint=str(path), arch=str(tiny_checkpoint[1]), device="cpu", precision=precision
        )
    assert "non-finite" in str(info.value) and key in str(info.value)


def test_unknown_arch_and_version(tiny_checkpoint):
    with pytest.raises(ConfigError) as info:
        load_scorer(checkpoint=str(tiny_checkpoint[0]), arch="ViT-Q-99")
    assert "ViT-Q-99" in str(info.value) and "ViT-H-14" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_scorer(version="v3", checkpoint=str(tiny_checkpoint[0]))
    assert "v3" in str(info.value) and "v2.1" in str(info.value)


def test_empty_prompt_rejected(tiny_scorer):
    with pytest.raises(ConfigError):
        tiny_scorer.score(images(1), "   ")


def test_sha256_sidecar_cache(tmp_path):
    from scorer.zoo import file_sha256

    path = tmp_path / "weights.pt"
    path.write_bytes(b"abc")
    assert file_sha256(path) == hashlib.sha256(b"abc").hexdigest()
    assert (tmp_path / "weights.pt.sha256.json").is_file()
    path.write_bytes(b"abcd")  # size and mtime change: the cache must not be reused
    assert file_sha256(path) == hashlib.sha256(b"abcd").hexdigest()


def test_hub_blob_named_by_sha256(tmp_path):
    from scorer.zoo import file_sha256

    digest = hashlib.sha256(b"weights").hexdigest()
    (tmp_path / "blobs").mkdir()
    blob = tmp_path / "blobs" / digest
    blob.write_bytes(b"weights")
    link = tmp_path / "HPS_v2.1_compressed.pt"
    link.symlink_to(blob)
    assert file_sha256(link) == digest
    assert not (tmp_path / "HPS_v2.1_compressed.pt.sha256.json").exists()
