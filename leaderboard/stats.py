"""Leaderboard statistics: pure functions of per-image scores.

* :func:`official_stats`: the official protocol per style (consecutive chunks of 80 in prompt
  order, mean of the chunk means, population std of the chunk means) and Averaged.
* :func:`rank_rows`: competition ranking ("1, 2, 2, 4") by Averaged, best first.
* :func:`bootstrap_ci`: 95% percentile bootstrap interval of a style mean. It resamples
  **images** (per-image scores, with replacement), not the ten chunk means: ten values give a
  coarse, unstable interval, and with every chunk full the mean of chunk means equals the
  mean of the images, so resampling images estimates the uncertainty of the same number.
* :func:`resampled_style_means` and :func:`rank_intervals`: a 95% interval of each verified
  row's rank, as LMArena shows it. Each resample redraws every verified model's images
  (within each style, as :func:`bootstrap_ci` does) and ranks all rows of the version on the
  resampled Averaged; reported rows keep their published value (no images to resample).
  The interval is the spread of a row's rank over the resamples. :func:`ties` marks rows
  whose intervals overlap: their order is not settled by the data. The same resamples give
  the 95% interval of each style mean and of Averaged (:func:`sample_intervals`).
* :func:`head_to_head`: two models on the same prompts: per style and overall, win rate
  (ties count half) with its bootstrap 95% CI, mean difference a - b, and a paired bootstrap
  95% CI of that difference (both from the same resamples)
  (prompt indices resampled with replacement, the same indices for both models; overall
  resamples within each style and averages the four style differences).

Fixed seeds (numpy ``default_rng(seed)``) make every interval reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scorer.protocol import CHUNK, STYLES, StyleStats, averaged, style_stats

N_RESAMPLES = 2000
AVERAGED_KEY = "averaged"


@dataclass(frozen=True)
class OfficialResult:
    styles: dict[str, StyleStats]
    averaged: float | None


def official_stats(
    scores: Mapping[str, Sequence[float | None]], chunk: int = CHUNK
) -> OfficialResult:
    """Per-style official statistics and Averaged (None unless all four styles have a mean)."""
    styles = {style: style_stats(list(scores.get(style, [])), chunk) for style in STYLES}
    return OfficialResult(styles, averaged({s: st.mean for s, st in styles.items()}))


def rank_rows(values: Sequence[float | None]) -> list[int | None]:
    """Competition rank of each value, highest first; None values get no rank."""
    ranked = sorted((v for v in values if v is not None), reverse=True)
    first = {}
    for position, value in enumerate(ranked, start=1):
        first.setdefault(value, position)
    return [None if v is None else first[v] for v in values]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def bootstrap_ci(
    values: Sequence[float | None],
    *,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval | None:
    """Percentile bootstrap interval of the mean of ``values`` (None entries left out)."""
    data = np.array([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(n_resamples, data.size))
    means = data[idx].mean(axis=1)
    return _percentiles(means, level)


def _percentiles(samples: np.ndarray, level: float) -> Interval:
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return Interval(float(low), float(high))


def resampled_style_means(
    scores: Mapping[str, Sequence[float | None]],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray] | None:
    """Each style's mean in ``n_resamples`` bootstrap resamples of its images; None unless
    every style has a score."""
    rng = np.random.default_rng(seed)
    out = {}
    for style in STYLES:
        data = np.array([v for v in scores.get(style, []) if v is not None], dtype=np.float64)
        if data.size == 0:
            return None
        idx = rng.integers(0, data.size, size=(n_resamples, data.size))
        out[style] = data[idx].mean(axis=1)
    return out


def resampled_averaged(
    scores: Mapping[str, Sequence[float | None]],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> np.ndarray | None:
    """Averaged (mean of the four style means) in each bootstrap resample; None unless
    every style has a score."""
    by_style = resampled_style_means(scores, n_resamples=n_resamples, seed=seed)
    return None if by_style is None else averaged_samples(by_style)


def averaged_samples(by_style: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.mean(np.stack([by_style[s] for s in STYLES]), axis=0)


def sample_intervals(
    by_style: Mapping[str, np.ndarray], *, level: float = 0.95
) -> dict[str, Interval]:
    """Percentile interval of each style mean and of Averaged (key ``"averaged"``) from the
    same resamples (:func:`resampled_style_means`)."""
    out = {style: _percentiles(samples, level) for style, samples in by_style.items()}
    out[AVERAGED_KEY] = _percentiles(averaged_samples(by_style), level)
    return out


@dataclass(frozen=True)
class RankInterval:
    low: int  # best rank in the interval (1 = first)
    high: int


def rank_intervals(
    values: Sequence[float | None],
    resampled: Mapping[int, np.ndarray],
    *,
    level: float = 0.95,
) -> list[RankInterval | None]:
    """Interval of the competition rank of each value over the resamples.

    ``values``: the point Averaged of every row (None: unranked, left out);
    ``resampled``: row position -> Averaged in each resample (all the same length); rows
    without an entry keep their point value in every resample. Rows without resamples get
    None: they have no interval of their own.
    """
    ranked = [i for i, v in enumerate(values) if v is not None]
    out: list[RankInterval | None] = [None] * len(values)
    samples = {i: s for i, s in resampled.items() if i in ranked}
    if not samples:
        return out
    n_res = len(next(iter(samples.values())))
    matrix = np.empty((len(ranked), n_res), dtype=np.float64)
    for row, i in enumerate(ranked):
        matrix[row] = samples[i] if i in samples else values[i]
    # rank in a resample = 1 + how many rows score strictly higher in it (ties share a rank)
    ranks = 1 + (matrix[None, :, :] > matrix[:, None, :]).sum(axis=1)
    tail = (1.0 - level) / 2.0
    for row, i in enumerate(ranked):
        if i in samples:
            low, high = np.quantile(ranks[row], [tail, 1.0 - tail], method="inverted_cdf")
            out[i] = RankInterval(int(low), int(high))
    return out


def ties(intervals: Sequence[RankInterval | None]) -> list[bool]:
    """True for each interval that overlaps another one (None never overlaps)."""
    out = []
    for i, a in enumerate(intervals):
        out.append(
            a is not None
            and any(
                b is not None and j != i and a.low <= b.high and b.low <= a.high
                for j, b in enumerate(intervals)
            )
        )
    return out


@dataclass(frozen=True)
class Duel:
    n: int  # prompts both models have a score for
    win_rate: float | None  # share of those prompts where a scores higher (ties count half)
    mean_diff: float | None  # mean of (a - b)
    ci: Interval | None  # paired bootstrap interval of mean_diff
    win_ci: Interval | None = None  # bootstrap interval of win_rate (same resamples)


@dataclass(frozen=True)
class HeadToHead:
    styles: dict[str, Duel]
    overall: Duel


def _pairs(a: Sequence[float | None], b: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if not both:
        return np.empty(0), np.empty(0)
    arr = np.array(both, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def _wins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 where a scores higher, 0.5 on a tie, 0 where b does."""
    return (a > b) + 0.5 * (a == b)


def head_to_head(
    scores_a: Mapping[str, Sequence[float | None]],
    scores_b: Mapping[str, Sequence[float | None]],
    *,
    seed: int = 0,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
) -> HeadToHead:
    """Compare two models prompt by prompt (same prompt index, same style)."""
    rng = np.random.default_rng(seed)
    styles: dict[str, Duel] = {}
    diffs_by_style: dict[str, np.ndarray] = {}
    boot_by_style: dict[str, np.ndarray] = {}
    wins_by_style: dict[str, np.ndarray] = {}
    win_boot_by_style: dict[str, np.ndarray] = {}
    for style in STYLES:
        a, b = _pairs(scores_a.get(style, []), scores_b.get(style, []))
        if a.size == 0:
            styles[style] = Duel(0, None, None, None)
            continue
        d, w = a - b, _wins(a, b)
        idx = rng.integers(0, d.size, size=(n_resamples, d.size))
        boot, win_boot = d[idx].mean(axis=1), w[idx].mean(axis=1)
        diffs_by_style[style], boot_by_style[style] = d, boot
        wins_by_style[style], win_boot_by_style[style] = w, win_boot
        styles[style] = Duel(
            int(d.size),
            float(w.mean()),
            float(d.mean()),
            _percentiles(boot, level),
            _percentiles(win_boot, level),
        )
    if not diffs_by_style:
        return HeadToHead(styles, Duel(0, None, None, None))
    overall_diff = math.fsum(float(d.mean()) for d in diffs_by_style.values()) / len(diffs_by_style)
    overall_boot = np.mean(np.stack(list(boot_by_style.values())), axis=0)
    # Overall win rate: over all shared prompts; its interval resamples within each style.
    sizes = {style: w.size for style, w in wins_by_style.items()}
    count = sum(sizes.values())
    overall_wins = math.fsum(float(w.sum()) for w in wins_by_style.values()) / count
    overall_win_boot = sum(win_boot_by_style[s] * sizes[s] for s in sizes) / count
    overall = Duel(
        count,
        overall_wins,
        overall_diff,
        _percentiles(overall_boot, level),
        _percentiles(overall_win_boot, level),
    )
    return HeadToHead(styles, overall)
