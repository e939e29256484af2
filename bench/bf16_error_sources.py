"""Where bf16's score error comes from, source by source (the measurements behind scorer/bf16.py).

    .venv/bin/python bench/bf16_error_sources.py --per-style 4

On the random ViT-H-14 checkpoint and the benchmark-shaped images, per-image HPS scores are
computed in fp32 (the reference), then with one source of bf16 error at a time in an
otherwise fp32 model, then with the whole paths:

- the text tower run in plain bf16 (its embeddings against fp32 image embeddings);
- the image blocks' weights rounded to bf16 (computed in fp32), all of them, then only the
  q / k / v rows of the in-projection, the out-projection, the MLP;
- plain bf16 everywhere (the whole model cast, LayerNorm fp32), the old CPU bf16 path;
- ``scorer.bf16`` (the CPU bf16 precision), whose image tower is timed too.

Prints, per row, the max and mean |score delta| against fp32 and the largest move of a
style mean (plain mean of the images present: 4 per style is less than one chunk of 80).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from scorer.bf16 import Bf16Block
from scorer.model import load_scorer
from scorer.preprocess import load_and_preprocess

HERE = Path(__file__).resolve().parent

STYLES = ("anime", "concept-art", "paintings", "photo")
BF16 = torch.bfloat16


def encode_images(encode, pixels: torch.Tensor, batch: int = 8) -> tuple[torch.Tensor, float]:
    out, t0 = [], time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(pixels), batch):
            out.append(F.normalize(encode(pixels[i : i + batch]).float(), dim=-1))
    return torch.cat(out), (time.perf_counter() - t0) / len(pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-style", type=int, default=4)
    parser.add_argument("--images", type=Path, default=HERE / "work" / "images-12")
    parser.add_argument("--checkpoint", type=Path, default=HERE / "work" / "ViT-H-14-random.pt")
    parser.add_argument(
        "--prompts", type=Path, default=Path("/work/shared/data/hps_benchmark_prompts.json")
    )
    args = parser.parse_args()

    prompt_sets = json.loads(args.prompts.read_text())
    items = [
        (style, path, prompt_sets[style][int(path.stem)])
        for style in STYLES
        for path in sorted((args.images / style).iterdir())[: args.per_style]
    ]
    pixels = torch.stack([load_and_preprocess(str(path)) for _, path, _ in items])
    prompts = [prompt for _, _, prompt in items]
    kw = dict(checkpoint=str(args.checkpoint), arch="ViT-H-14", device="cpu")

    def score(img, txt):
        return 100 * (img * txt).sum(-1)

    def style_means(s):
        return {st: s[[i for i, it in enumerate(items) if it[0] == st]].mean() for st in STYLES}

    rows = []

    def report(name, s, ref, sec=None):
        d = (s - ref).abs()
        m0, m1 = style_means(ref), style_means(s)
        move = max(abs(float(m0[k] - m1[k])) for k in STYLES)
        rows.append((name, float(d.max()), float(d.mean()), move, sec))
        timing = f" | {sec:.2f}" if sec else " | -"
        print(f"| {name} | {d.max():.4f} | {d.mean():.4f} | {move:.4f}{timing} |", flush=True)

    print(f"{len(items)} images, {args.checkpoint}")
    print("| bf16 error source | max abs delta | mean abs delta | max style-mean move | s/image |")
    print("|---|---|---|---|---|")
    fp32 = load_scorer(precision="fp32", **kw)
    with torch.inference_mode():
        t32 = torch.cat([fp32.encode_texts(prompts[i : i + 16]) for i in range(0, len(items), 16)])
    i32, sec32 = encode_images(fp32.model.encode_image, pixels)
    ref = score(i32, t32)
    report("none (fp32)", ref, ref, sec32)

    # the old plain-bf16 path: the whole model cast to bf16, LayerNorm in fp32
    from open_clip.transformer import LayerNormFp32

    plain = load_scorer(precision="fp32", **kw).model
    plain.to(BF16)
    for module in plain.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.float()
            module.__class__ = LayerNormFp32
    plain.logit_scale.data = plain.logit_scale.data.float()
    with torch.inference_mode():
        tokens = fp32.tokenizer(prompts)
        t16 = torch.cat(
            [
                F.normalize(plain.encode_text(tokens[i : i + 16]).float(), dim=-1)
                for i in range(0, len(items), 16)
            ]
        )
    i16, sec16 = encode_images(lambda x, m=plain: m.encode_image(x.to(BF16)), pixels)
    report("text tower in bf16 (alone)", score(i32, t16), ref)
    report("plain bf16: whole model cast (old path)", score(i16, t16), ref, sec16)
    del plain

    blocks = fp32.model.visual.transformer.resblocks
    original = [{k: v.clone() for k, v in b.state_dict().items()} for b in blocks]
    d = blocks[0].attn.embed_dim

    def rounded(select) -> torch.Tensor:
        with torch.no_grad():
            for block, state in zip(blocks, original):
                block.load_state_dict(state)
                for name, p in block.named_parameters():
                    rows_ = select(name)
                    if rows_ is not None:
                        p[rows_].copy_(p[rows_].to(BF16).float())
        return encode_images(fp32.model.encode_image, pixels)[0]

    everything = slice(None)
    parts = {
        "image weights rounded to bf16: all": lambda n: everything if "ln_" not in n else None,
        "... q rows of the in-projection": lambda n: (
            slice(0, d) if n == "attn.in_proj_weight" else None
        ),
        "... k rows": lambda n: slice(d, 2 * d) if n == "attn.in_proj_weight" else None,
        "... v rows": lambda n: slice(2 * d, 3 * d) if n == "attn.in_proj_weight" else None,
        "... out-projection": lambda n: everything if n == "attn.out_proj.weight" else None,
        "... MLP (c_fc, c_proj)": lambda n: (
            everything if n.startswith("mlp.") and "weight" in n else None
        ),
    }
    for name, select in parts.items():
        report(name, score(rounded(select), t32), ref)
    with torch.no_grad():
        for block, state in zip(blocks, original):
            block.load_state_dict(state)

    for i in range(len(blocks)):
        blocks[i] = Bf16Block(blocks[i])
    ib, secb = encode_images(fp32.model.encode_image, pixels)
    report("scorer.bf16 (CPU bf16 precision)", score(ib, t32), ref, secb)


if __name__ == "__main__":
    main()
