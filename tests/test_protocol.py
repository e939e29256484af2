"""Official statistics on hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from scorer.protocol import CHUNK, STYLES, averaged, index_ranges, style_stats


def test_chunk_means_mean_and_population_std():
    # chunk means 1, 3 -> mean 2, population std 1 (the sample std would be 1.414)
    scores = [1.0] * 80 + [3.0] * 80
    st = style_stats(scores)
    assert (st.mean, st.std, st.n) == (2.0, 1.0, 160)


def test_ten_chunks_like_the_benchmark():
    # 800 scores: chunk k holds the values k and k + 2 alternating -> chunk mean k + 1
    scores = [float(k + 2 * (i % 2)) for k in range(10) for i in range(80)]
    st = style_stats(scores)
    assert st.mean == pytest.approx(5.5)  # mean of 1..10
    assert st.std == pytest.approx(math.sqrt(8.25))  # population variance of 1..10 is 8.25
    assert st.n == 800


def test_mean_of_chunk_means_differs_from_image_mean_with_gaps():
    # chunk 1: one image of 10; chunk 2: 80 images of 0 -> chunk means 10 and 0
    scores = [10.0] + [None] * 79 + [0.0] * 80
    st = style_stats(scores)
    assert st.mean == pytest.approx(5.0) and st.std == pytest.approx(5.0) and st.n == 81


def test_all_missing():
    st = style_stats([None] * CHUNK)
    assert st.mean is None and st.std is None and st.n == 0


def test_averaged_needs_all_four_styles():
    means = {"anime": 28.0, "concept-art": 27.0, "paintings": 26.0, "photo": 25.0}
    assert averaged(means) == pytest.approx(26.5)
    assert averaged({**means, "photo": None}) is None
    assert set(means) == set(STYLES)


def test_index_ranges():
    assert index_ranges([7, 0, 1, 2, 5, 8]) == "00000-00002, 00005, 00007-00008"
    assert index_ranges([3, 3, 4]) == "00003-00004"
    assert index_ranges([]) == ""
