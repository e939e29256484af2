"""The CPU bf16 image tower: bf16 matrix products, fp32 everywhere else.

bf16 matmuls run several times as fast as fp32 on CPUs with AVX512-BF16 or AMX (measured by
``bench/matmul_rate.py``, figures in BENCHMARKS.md), and the image tower is almost all
matmuls. Casting the whole model to bf16 moved HPS scores by up to 0.12 on a ViT-H-14
(BENCHMARKS.md), over the bar of 0.05. Measured where that error came from
(``bench/bf16_error_sources.py``: random ViT-H-14, 16 images, each source alone in an
otherwise fp32 model): the bf16 text tower (max 0.056), the bf16 residual
stream, and the rounding of the fp16 checkpoint weights to bf16's 8 significant bits, mostly
in the attention's value and output projections (max 0.016 and 0.010; q 0.004, k 0.002, the
MLP 0.010 together). So here:

- the residual stream, every LayerNorm, the patch embedding, the pooled head and the
  attention core (softmax(q k^T) v) stay fp32; only the block's linear layers take bf16
  inputs (the LayerNorm output, rounded once), accumulate in fp32 inside oneDNN, and give
  bf16 outputs that are added to the fp32 stream;
- the value and output projections keep their weights exact: each is split as
  ``hi = bf16(w)``, ``lo = bf16(w - hi)`` (hi + lo is exact for fp16 weights) and run as
  one matmul over the stacked ``[hi; lo]``, the halves summed in fp32 - twice the work for
  1/6 of the block's flops;
- the text tower stays fp32 (``scorer.model``), so text embeddings are the fp32 ones; they
  are persisted per checkpoint, so their cost is paid once.

Only open_clip's standard ``ResidualAttentionBlock`` (batch-first, fused in-projection with
bias, no cross-attention) is converted; any other block stays fp32, which is exact and slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock
from torch import nn

log = logging.getLogger(__name__)

BF16 = torch.bfloat16


def split_bf16(w: torch.Tensor) -> torch.Tensor:
    """``[hi; lo]`` stacked on dim 0, with ``hi = bf16(w)`` and ``lo = bf16(w - hi)``:
    ``hi + lo`` holds 16 significant bits, so it is exact for fp16 weights."""
    w32 = w.detach().float()
    hi = w32.to(BF16)
    lo = (w32 - hi.float()).to(BF16)
    return torch.cat([hi, lo])


class Bf16Block(nn.Module):
    """An open_clip ``ResidualAttentionBlock`` run with bf16 matmuls over an fp32 stream."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        attn = block.attn
        d = attn.embed_dim
        self.heads = attn.num_heads
        # fp32 submodules (cast with the rest of the model)
        self.ln_1, self.ln_2 = block.ln_1, block.ln_2
        self.ls_1, self.ls_2 = block.ls_1, block.ls_2
        self.act = block.mlp[1]
        w_in, b_in = attn.in_proj_weight, attn.in_proj_bias
        self.register_buffer("w_qk", w_in[: 2 * d].detach().to(BF16))
        self.register_buffer("b_qk", b_in[: 2 * d].detach().to(BF16))
        self.register_buffer("w_v", split_bf16(w_in[2 * d :]))
        self.register_buffer("b_v", b_in[2 * d :].detach().float())
        self.register_buffer("w_o", split_bf16(attn.out_proj.weight))
        self.register_buffer("b_o", attn.out_proj.bias.detach().float())
        fc, proj = block.mlp[0], block.mlp[2]
        self.register_buffer("w_fc", fc.weight.detach().to(BF16))
        self.register_buffer("b_fc", fc.bias.detach().to(BF16))
        self.register_buffer("w_proj", proj.weight.detach().to(BF16))
        self.register_buffer("b_proj", proj.bias.detach().to(BF16))

    @staticmethod
    def _exact_linear(x: torch.Tensor, w_split: torch.Tensor, bias: torch.Tensor):
        """``x @ (hi + lo)^T + bias`` in fp32 from one bf16 matmul over ``[hi; lo]``."""
        y = F.linear(x, w_split)
        out = w_split.shape[0] // 2
        return y[..., :out].float() + y[..., out:].float() + bias

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attn_mask is not None:
            raise ValueError("the bf16 image block takes no attention mask")
        n, length, d = x.shape
        h = self.ln_1(x).to(BF16)
        qk = F.linear(h, self.w_qk, self.b_qk).float()
        q, k = qk.view(n, length, 2, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        v = self._exact_linear(h, self.w_v, self.b_v)
        v = v.view(n, length, self.heads, d // self.heads).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, d)
        x = x + self.ls_1(self._exact_linear(o.to(BF16), self.w_o, self.b_o))
        h = self.act(F.linear(self.ln_2(x).to(BF16), self.w_fc, self.b_fc))
        return x + self.ls_2(F.linear(h, self.w_proj, self.b_proj).float())


# each Bf16Block entry and the checkpoint entry it was made from
CHECKPOINT_NAMES = {
    "w_qk": "attn.in_proj_weight",
    "b_qk": "attn.in_proj_bias",
    "w_v": "attn.in_proj_weight",
    "b_v": "attn.in_proj_bias",
    "w_o": "attn.out_proj.weight",
    "b_o": "attn.out_proj.bias",
    "w_fc": "mlp.c_fc.weight",
    "b_fc": "mlp.c_fc.bias",
    "w_proj": "mlp.c_proj.weight",
    "b_proj": "mlp.c_proj.bias",
}


def checkpoint_name(model: nn.Module, name: str) -> str:
    """The checkpoint entry behind the model's state-dict entry ``name`` (they differ only
    for the tensors of a :class:`Bf16Block`)."""
    owner, _, leaf = name.rpartition(".")
    if leaf in CHECKPOINT_NAMES and isinstance(model.get_submodule(owner), Bf16Block):
        return f"{owner}.{CHECKPOINT_NAMES[leaf]}"
    return name


def _convertible(block: nn.Module, batch_first: bool) -> bool:
    attn = getattr(block, "attn", None)
    mlp = getattr(block, "mlp", None)
    return (
        batch_first
        and type(block) is ResidualAttentionBlock
        and not hasattr(block, "ln_1_kv")
        and isinstance(attn, nn.MultiheadAttention)
        and attn._qkv_same_embed_dim
        and attn.in_proj_bias is not None
        and isinstance(mlp, nn.Sequential)
        and len(mlp) == 3
        and all(isinstance(mlp[i], nn.Linear) and mlp[i].bias is not None for i in (0, 2))
    )


def convert_image_tower(
    model: nn.Module, release: Callable[[torch.Tensor], None] = lambda t: None
) -> int:
    """Replace the image tower's blocks by :class:`Bf16Block`, in place; ``release`` is
    called with each source weight once converted (to drop its checkpoint pages). Returns
    how many blocks were converted; blocks of other kinds are left for the fp32 cast."""
    transformer = getattr(getattr(model, "visual", None), "transformer", None)
    blocks = getattr(transformer, "resblocks", None)
    if blocks is None:
        log.warning("image tower has no open_clip transformer: it runs in fp32")
        return 0
    converted = 0
    batch_first = getattr(transformer, "batch_first", True)
    for i, block in enumerate(blocks):
        if not _convertible(block, batch_first):
            continue
        blocks[i] = Bf16Block(block)
        for t in (
            block.attn.in_proj_weight,
            block.attn.in_proj_bias,
            block.attn.out_proj.weight,
            block.attn.out_proj.bias,
            *block.mlp[0].parameters(),
            *block.mlp[2].parameters(),
        ):
            release(t)
        converted += 1
    if converted < len(blocks):
        log.warning(
            "%d of %d image blocks are not open_clip ResidualAttentionBlocks: they run in fp32",
            len(blocks) - converted,
            len(blocks),
        )
    return converted
