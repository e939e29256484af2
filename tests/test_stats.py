"""Leaderboard statistics on numbers computed by hand in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboard.stats import (
    RankInterval,
    bootstrap_ci,
    head_to_head,
    official_stats,
    rank_intervals,
    rank_rows,
    resampled_averaged,
    ties,
)
from scorer.protocol import STYLES


def test_official_stats_chunks_of_80():
    # anime: chunk 1 = eighty 1.0, chunk 2 = eighty 3.0 -> chunk means 1, 3:
    # mean 2, population std sqrt(((1-2)^2 + (3-2)^2) / 2) = 1.
    scores = {
        "anime": [1.0] * 80 + [3.0] * 80,
        "concept-art": [5.0] * 80,
        "paintings": [5.0] * 80,
        "photo": [5.0] * 80,
    }
    result = official_stats(scores)
    assert result.styles["anime"].mean == pytest.approx(2.0)
    assert result.styles["anime"].std == pytest.approx(1.0)
    assert result.styles["anime"].n == 160
    assert result.styles["photo"].std == pytest.approx(0.0)
    assert result.averaged == pytest.approx((2 + 5 + 5 + 5) / 4)


def test_official_stats_mean_of_chunk_means_not_of_images():
    # chunk 1: forty missing + forty 2.0 -> 2; chunk 2: eighty 4.0 -> 4. Mean 3 (the image
    # mean would be (80 + 320) / 120 = 3.33).
    scores = {"anime": [None] * 40 + [2.0] * 40 + [4.0] * 80}
    result = official_stats(scores)
    assert result.styles["anime"].mean == pytest.approx(3.0)
    assert result.styles["anime"].n == 120
    assert result.styles["photo"].mean is None and result.averaged is None


def test_rank_competition_order():
    assert rank_rows([10.0, 30.0, None, 30.0, 20.0]) == [4, 1, None, 1, 3]


def _binomial_quantile(n: int, p: float, q: float) -> int:
    """Smallest k with P(Binomial(n, p) <= k) >= q, by exact summation."""
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if total >= q:
            return k
    return n


def test_bootstrap_ci_against_the_exact_bootstrap_distribution():
    constant = bootstrap_ci([7.0] * 50)
    assert (constant.low, constant.high) == (7.0, 7.0)
    # 0/1 data, 30 ones in 100: a resample's mean is Binomial(100, 0.3) / 100 exactly, so the
    # 2.5% and 97.5% points of the bootstrap distribution are known without resampling.
    data = [1.0] * 30 + [0.0] * 70
    ci = bootstrap_ci(data, seed=3, n_resamples=20_000)
    low = _binomial_quantile(100, 0.3, 0.025) / 100
    high = _binomial_quantile(100, 0.3, 0.975) / 100
    assert ci.low == pytest.approx(low, abs=0.011) and ci.high == pytest.approx(high, abs=0.011)
    assert bootstrap_ci(data, seed=3, n_resamples=20_000) == ci  # fixed seed: reproducible
    assert bootstrap_ci([None, None]) is None


def test_bootstrap_ci_matches_the_normal_interval_of_a_large_sample():
    """For 2,000 values the bootstrap of the mean is close to normal: mean +- 1.96 s/sqrt(n),
    with s the population std (what resampling the empirical distribution sees)."""
    values = np.random.default_rng(11).gamma(2.0, 3.0, size=2000)
    ci = bootstrap_ci(list(values), seed=5)
    half = 1.959964 * values.std() / math.sqrt(values.size)
    assert ci.low == pytest.approx(values.mean() - half, abs=0.1 * half)
    assert ci.high == pytest.approx(values.mean() + half, abs=0.1 * half)


def test_head_to_head_by_hand():
    a = {"anime": [2.0, 2.0, 2.0, 2.0], "paintings": [1.0, 1.0], "photo": [0.0, 0.0]}
    b = {"anime": [1.0, 3.0, 1.0, 1.0], "paintings": [1.0, 0.0], "photo": [1.0, 1.0]}
    h = head_to_head(a, b, seed=0)
    # anime: diffs 1, -1, 1, 1 -> a wins 3 of 4, mean diff 0.5
    assert h.styles["anime"].n == 4
    assert h.styles["anime"].win_rate == pytest.approx(0.75)
    assert h.styles["anime"].mean_diff == pytest.approx(0.5)
    # its paired bootstrap: 4 draws from diffs {1: 3/4, -1: 1/4}, mean = k/2 - 1 for k ~
    # Binomial(4, 3/4) ones; the 2.5% point is k = 1 (cdf 0.051), the 97.5% point k = 4
    k_low, k_high = _binomial_quantile(4, 0.75, 0.025), _binomial_quantile(4, 0.75, 0.975)
    assert (k_low, k_high) == (1, 4)
    ci = h.styles["anime"].ci
    assert (ci.low, ci.high) == (k_low / 2 - 1, k_high / 2 - 1)
    # paintings: a tie (half a win) and a win -> 0.75; mean diff 0.5
    assert h.styles["paintings"].win_rate == pytest.approx(0.75)
    # photo: b always 1 higher -> win rate 0, diff -1 with a degenerate interval
    assert h.styles["photo"].win_rate == 0.0
    assert (h.styles["photo"].ci.low, h.styles["photo"].ci.high) == (-1.0, -1.0)
    assert h.styles["concept-art"].n == 0 and h.styles["concept-art"].win_rate is None
    # overall: wins 3 + 1.5 + 0 over 8 prompts; diff = mean of style diffs (0.5, 0.5, -1)
    assert h.overall.n == 8
    assert h.overall.win_rate == pytest.approx(4.5 / 8)
    assert h.overall.mean_diff == pytest.approx(0.0)
    # win-rate intervals: b always wins photo -> degenerate at 0; anime's lies in [0, 1]
    # around 0.75; the overall one brackets 4.5 / 8
    assert (h.styles["photo"].win_ci.low, h.styles["photo"].win_ci.high) == (0.0, 0.0)
    # anime's wins are 1, 0, 1, 1: a resample's win rate is k / 4 for the same k as above
    win = h.styles["anime"].win_ci
    assert (win.low, win.high) == (k_low / 4, k_high / 4)
    assert h.overall.win_ci.low <= 4.5 / 8 <= h.overall.win_ci.high
    assert h.styles["concept-art"].win_ci is None


def test_head_to_head_pairs_only_shared_prompts():
    a = {"anime": [1.0, None, 3.0]}
    b = {"anime": [0.0, 5.0, None]}
    h = head_to_head(a, b)
    assert h.styles["anime"].n == 1 and h.styles["anime"].mean_diff == pytest.approx(1.0)


def test_resampled_averaged_is_the_mean_of_style_means_per_resample():
    constant = {s: [float(k)] * 5 for k, s in enumerate(STYLES)}
    samples = resampled_averaged(constant, n_resamples=50)
    assert samples.shape == (50,) and samples == pytest.approx([1.5] * 50)  # (0+1+2+3)/4
    spread = {s: [20.0, 30.0] for s in STYLES}
    samples = resampled_averaged(spread, n_resamples=4000)
    assert samples.min() >= 20.0 and samples.max() <= 30.0 and samples.std() > 0
    assert samples.mean() == pytest.approx(25.0, abs=0.2)
    assert resampled_averaged({"anime": [1.0]}) is None  # not every style scored


def test_rank_intervals_by_hand():
    # three rows; row 0 dips below row 1 in one resample of four, row 2 has no resamples
    values = [3.0, 2.0, 1.0, None]
    resampled = {0: np.array([3.0, 3.0, 1.5, 3.0]), 1: np.array([2.0, 2.0, 2.0, 2.0])}
    out = rank_intervals(values, resampled, level=0.4)
    # ranks of row 0: [1, 1, 2, 1] -> 30th..70th percentile 1..1; row 1: [2, 2, 1, 2] -> 2..2
    assert out[0] == RankInterval(1, 1) and out[1] == RankInterval(2, 2)
    assert out[2] is None and out[3] is None  # no resamples; unranked
    wide = rank_intervals(values, resampled, level=0.95)
    assert wide[0] == RankInterval(1, 2) and wide[1] == RankInterval(1, 2)
    assert ties(wide) == [True, True, False, False]
    assert ties([RankInterval(1, 1), RankInterval(2, 3), None]) == [False, False, False]


def test_rank_intervals_share_ranks_on_equal_values():
    values = [2.0, 2.0, 1.0]
    out = rank_intervals(values, {0: np.array([2.0]), 1: np.array([2.0]), 2: np.array([1.0])})
    assert out == [RankInterval(1, 1), RankInterval(1, 1), RankInterval(3, 3)]
