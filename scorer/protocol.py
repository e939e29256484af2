"""The HPS v2 benchmark protocol, declared once.

Styles, prompts per style, the chunking of the official statistics and the image file
layout. Parsing, scoring, storage, tables and plots all derive from these names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STYLES: tuple[str, ...] = ("anime", "concept-art", "paintings", "photo")
PROMPTS_PER_STYLE = 800
CHUNK = 80  # the official evaluation averages consecutive chunks of 80 prompts
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp")


def image_stem(index: int) -> str:
    """File stem of the image for prompt ``index``: ``00000`` ..."""
    return f"{index:05d}"


@dataclass(frozen=True)
class StyleStats:
    mean: float | None  # mean of the chunk means, in score units
    std: float | None  # population std (ddof 0) of the chunk means
    n: int  # images that were scored

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def style_stats(scores: Sequence[float | None], chunk: int = CHUNK) -> StyleStats:
    """Official statistics of one style's per-image scores, in prompt order.

    The scores are split into consecutive chunks of ``chunk``; the style mean is the mean of
    the chunk means and the std the population std of the chunk means. Missing images
    (``None``) are left out of their chunk's mean; a chunk with no score is left out.
    With no missing image this is exactly the official computation.
    """
    means: list[float] = []
    for start in range(0, len(scores), chunk):
        present = [s for s in scores[start : start + chunk] if s is not None]
        if present:
            means.append(math.fsum(present) / len(present))
    n = sum(1 for s in scores if s is not None)
    if not means:
        return StyleStats(None, None, 0)
    mean = math.fsum(means) / len(means)
    var = math.fsum((m - mean) ** 2 for m in means) / len(means)
    return StyleStats(mean, math.sqrt(var), n)


def averaged(style_means: Mapping[str, float | None]) -> float | None:
    """Averaged = mean of the four style means; None unless all four are present."""
    values = [style_means.get(style) for style in STYLES]
    if any(v is None for v in values):
        return None
    return math.fsum(values) / len(values)
