"""The HPS v2 benchmark protocol, declared once.

Styles, prompts per style, the chunking of the official statistics and the image file
layout. Parsing, scoring, storage, tables and plots all derive from these names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

STYLES: tuple[str, ...] = ("anime", "concept-art", "paintings", "photo")
PROMPTS_PER_STYLE = 800
CHUNK = 80  # the official evaluation averages consecutive chunks of 80 prompts
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp")

# sha256 of each style's prompt list (``scorer.prompts.prompt_list_sha256``: compact JSON,
# UTF-8) of the benchmark prompts of the hub dataset zhwang/HPDv2, ``benchmark/<style>.json``.
# Results on any other prompt set are marked as such on the leaderboard.
OFFICIAL_PROMPT_SHA256: dict[str, str] = {
    "anime": "5faac2216d06fd34ea56171f46f6bed9c3cada165e10d059da8fa74d6b8ee1ae",
    "concept-art": "ca14a622b6938eae1d84338e523ac5b8e021fe906c7dd00cc406fb887c70bd06",
    "paintings": "224a6bb0efe5748f209fe4856cc594f1ded97324e2f4ccbe70601125da8bc413",
    "photo": "884f6a96e72e615c4e94dc786e4b59e973984e1a2892917b83466b60da7c910f",
}


def image_stem(index: int) -> str:
    """File stem of the image for prompt ``index``: ``00000`` ..."""
    return f"{index:05d}"


def parse_image_stem(stem: str) -> int | None:
    """The prompt index of a file stem of exactly five ASCII digits, else None. ``int()``
    and ``str.isdigit`` also take full-width and other Unicode digits (``０００１２``)."""
    if len(stem) == 5 and stem.isascii() and stem.isdigit():
        return int(stem)
    return None


def hps_scores(images, texts) -> list[float]:
    """The HPS score of each row pair of L2-normalised image and text embeddings (torch
    tensors [N, D]): 100 x cosine similarity. The one definition every scoring path uses."""
    return (100.0 * (images * texts).sum(dim=-1)).tolist()


def index_ranges(indices: Iterable[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> "00000-00002, 00005, 00007-00008" (duplicates ignored)."""
    values = sorted(set(indices))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        lo, hi = values[i], values[j]
        parts.append(image_stem(lo) if lo == hi else f"{image_stem(lo)}-{image_stem(hi)}")
        i = j + 1
    return ", ".join(parts)


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
