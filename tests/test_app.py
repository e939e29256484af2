"""Web app handlers and pure view functions, called directly (no server)."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import math
import re
from datetime import UTC, datetime

import gradio as gr
import pytest

from leaderboard.records import LeaderboardRow
from leaderboard.stats import Interval
from scorer.errors import CheckpointError, ConfigError, ImageError
from scorer.model import load_scorer_from_settings
from scorer.pool import ScorerPool
from scorer.protocol import STYLES, StyleStats
from web import figures, tables, texts
from web.errors import user_errors
from web.score_tab import compare_images, score_images, score_views, scorer_status
from web.settings import AppSettings


def make_row(model, averaged, *, kind="verified", rank=None, partial=False, sid=None, day=1):
    styles = {s: StyleStats(averaged + i * 0.1, 0.2 + i * 0.01, 800) for i, s in enumerate(STYLES)}
    return LeaderboardRow(
        submission_id=sid,
        model=model,
        link=None,
        organisation=None,
        version="v2.1",
        kind=kind,
        partial=partial,
        styles=styles,
        averaged=averaged,
        rank=rank,
        n_images=3200,
        created_at=datetime(2026, 1, day, tzinfo=UTC),
        status="done",
    )


ROWS = [
    make_row("Alpha", 30.0, rank=1, sid=1, day=3),
    make_row("beta-XL", 29.0, rank=2, kind="reported", day=1),
    make_row("Gamma", 28.0, rank=3, sid=2, day=2),
    make_row("=HYPERLINK(1)", 27.0, rank=None, sid=3, partial=True, day=4),
]


# --- errors -------------------------------------------------------------------------
def test_user_errors_shows_the_hps_error_message_escaped():
    @user_errors
    def handler(x):
        raise ImageError("<b>x</b>.png", "cannot be read")

    with pytest.raises(gr.Error) as info:
        handler(1)
    assert info.value.message == "&lt;b&gt;x&lt;/b&gt;.png: cannot be read"


def test_user_errors_hides_internal_errors_behind_a_generic_message(caplog):
    @user_errors
    def handler():
        raise KeyError("secret internals")

    with pytest.raises(gr.Error) as info:
        handler()
    assert info.value.message == texts.INTERNAL_ERROR
    assert "secret internals" in caplog.text  # logged with its traceback


def test_user_errors_keeps_the_signature_gradio_reads():
    import inspect

    @user_errors
    def handler(files, prompt: str, version: str = "v2.1"):
        return prompt

    assert list(inspect.signature(handler).parameters) == ["files", "prompt", "version"]
    assert handler(None, "p") == "p"


# --- scorer pool --------------------------------------------------------------------
def test_pool_loads_each_version_once_and_other_versions_ignore_the_checkpoint(app_settings):
    seen = []

    def loader(settings):
        seen.append((settings.version, settings.checkpoint))
        return load_scorer_from_settings(
            dataclasses.replace(settings, checkpoint=app_settings.checkpoint)
        )

    pool = ScorerPool(app_settings, loader)
    first = pool.get("v2.1")
    assert pool.get("v2.1") is first
    pool.get("v2.0")
    assert seen == [("v2.1", app_settings.checkpoint), ("v2.0", None)]


def test_pool_without_checkpoint_says_why_and_how(tmp_path):
    settings = AppSettings(data_dir=str(tmp_path), checkpoint=str(tmp_path / "missing.pt"))
    pool = ScorerPool(settings)
    assert "loads on first use" in scorer_status(pool, "v2.1")
    with pytest.raises(CheckpointError):
        pool.get("v2.1")
    status = scorer_status(pool, "v2.1")
    assert "not available" in status and "About tab" in status
    # a visitor reads no environment variables; the operator's hint is in About
    assert "HPS_" not in status.replace("\\_", "_") and "HPS_CHECKPOINT=" in texts.ABOUT
    with pytest.raises(gr.Error) as info:  # and the Score button says the same
        user_errors(score_images)(pool, ["a.png"], "a cat", "v2.1")
    assert "missing.pt" in info.value.message


# --- score and compare --------------------------------------------------------------
def test_score_ranks_images_best_first_with_the_scorer_scores(app_settings, color_images):
    pool = ScorerPool(app_settings)
    result = score_images(pool, [str(p) for p in color_images], "a red square", "v2.1")
    expected = pool.get("v2.1").score([str(p) for p in color_images], "a red square")
    assert result["scores"] == pytest.approx(expected)
    ranked = [r["score"] for r in result["ranking"]]
    assert ranked == sorted(expected, reverse=True)
    assert [r["image"] for r in result["ranking"]] == [
        color_images[expected.index(s)].name for s in ranked
    ]
    gallery, table = score_views(result, [str(p) for p in color_images])
    assert [g[0] for g in gallery] == [str(color_images[r["index"]]) for r in result["ranking"]]
    assert gallery[0][1].startswith("#1 ")
    assert list(table["score"]) == pytest.approx(ranked, abs=1e-4)
    assert result["version"] == "v2.1"


def test_score_refuses_no_images_and_names_a_bad_one(app_settings, color_images, tmp_path):
    pool = ScorerPool(app_settings)
    with pytest.raises(ConfigError, match="no images"):
        score_images(pool, [], "p", "v2.1")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(ImageError, match="notes.png"):
        score_images(pool, [str(color_images[0]), str(bad)], "p", "v2.1")
    with pytest.raises(ConfigError, match="prompt is empty"):
        score_images(pool, [str(color_images[0])], "  ", "v2.1")
    small = ScorerPool(app_settings.replace(max_score_images=3))
    with pytest.raises(ConfigError, match="4 images in one request: at most 3"):
        score_images(small, [str(p) for p in color_images], "p", "v2.1")


def test_compare_probability_follows_the_scores_and_logit_scale(app_settings, color_images):
    pool = ScorerPool(app_settings)
    a, b = str(color_images[0]), str(color_images[2])
    result = compare_images(pool, a, b, "a blue square", "v2.1")
    scorer = pool.get("v2.1")
    score_a, score_b = scorer.score([a, b], "a blue square")
    assert result["score_a"] == pytest.approx(score_a)
    z = scorer.logit_scale * (score_a - score_b) / 100
    assert result["prob_a"] == pytest.approx(1 / (1 + math.exp(-z)))
    assert result["preferred"] == ("A" if score_a >= score_b else "B")
    with pytest.raises(ConfigError, match="image B"):
        compare_images(pool, a, None, "p", "v2.1")


# --- tables -------------------------------------------------------------------------
def test_filter_search_and_verified_only():
    assert [r.model for r in tables.filter_rows(ROWS, search="ALP")] == ["Alpha"]
    assert "beta-XL" not in [r.model for r in tables.filter_rows(ROWS, verified_only=True)]


def test_sort_orders():
    assert [r.model for r in tables.sort_rows(ROWS, "rank")][:3] == ["Alpha", "beta-XL", "Gamma"]
    assert [r.model for r in tables.sort_rows(ROWS, "model")][1:] == ["Alpha", "beta-XL", "Gamma"]
    assert tables.sort_rows(ROWS, "date")[0].model == "=HYPERLINK(1)"
    by_photo = tables.sort_rows(ROWS, "photo")
    assert [r.styles["photo"].mean for r in by_photo] == sorted(
        (r.styles["photo"].mean for r in ROWS), reverse=True
    )


def _cells(html_text: str) -> list[list[str]]:
    """The table's body rows as lists of cell HTML."""
    body = html_text.split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>")[:-1]]


def test_table_columns_cells_links_and_escaping():
    rows = [dataclasses.replace(ROWS[0], rank_low=1, rank_high=2, tied=True), *ROWS[1:]]
    rows.append(make_row("<b>x</b>", 20.0, rank=5, sid=9))
    out = tables.leaderboard_html(rows, default_version="v2.1")
    headers = re.findall(r'data-sort="([^"]+)"', out)
    # the reproduction column appears only when a row shown has a reported/verified pair
    assert headers == ["rank", "model", *STYLES, "Averaged", "images", "date"]
    cells = _cells(out)
    first = cells[0]
    assert ">1</span>" in first[0] and "1–2" in first[0] and texts.TIED in first[0]
    assert 'href="?tab=model&amp;model=v%3A1"' in first[1] and ">Alpha</a>" in first[1]
    assert first[2] == "30.00 ± 0.20"  # fixed decimals, mean ± std
    assert first[6] == "<b>30.00</b>" and first[8] == "2026-01-03"
    reported = cells[1]
    assert texts.NO_CI in reported[0] and texts.REPORTED_SOURCE in reported[8]
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>x</b>" not in out  # user text escaped
    assert 'class="hps-num hps-col-anime hps-wide"' in out  # styles hidden on a phone
    assert 'class="hps-num hps-col-Averaged"' in out  # Averaged kept
    custom = dataclasses.replace(ROWS[0], official_prompts=False)
    assert texts.CUSTOM_PROMPTS_BADGE in tables.leaderboard_html([custom], default_version="v2.1")
    assert tables.mean_std(StyleStats(28.1234, None, 800)) == "28.12"


def test_table_sorted_by_a_header_and_empty_state():
    out = tables.leaderboard_html(ROWS, sort="model", default_version="v2.1")
    assert 'aria-sort="descending"><button type="button" class="hps-sort" data-sort="model"' in out
    names = re.findall(r'class="hps-model"[^>]*>([^<]+)</a>', out)
    assert names == [html.escape(r.model) for r in sorted(ROWS, key=lambda r: r.model.casefold())]
    ranks = re.findall(r'<span class="hps-rank">(\d+)</span>', out)
    assert ranks == ["1", "2", "3"]  # a sort never renumbers: Alpha keeps #1 wherever it is
    empty = tables.leaderboard_html([], default_version="v2.1", empty="No model matches x")
    assert 'class="hps-empty"' in empty and "No model matches x" in empty


def test_csv_has_numbers_per_style_and_defuses_formulas():
    parsed = list(csv.DictReader(io.StringIO(tables.leaderboard_csv(ROWS))))
    assert len(parsed) == len(ROWS)
    assert float(parsed[0]["photo_mean"]) == pytest.approx(ROWS[0].styles["photo"].mean)
    assert float(parsed[0]["anime_std"]) == pytest.approx(0.2)
    assert parsed[3]["model"] == "'=HYPERLINK(1)"
    assert parsed[3]["rank"] == ""


def test_md_escape_neutralises_markup():
    out = texts.md_escape("<img src=x onerror=alert(1)> **bold** [l](http://x)")
    assert "<" not in out and ">" not in out
    assert "\\*\\*bold\\*\\*" in out and "\\[l\\]" in out


# --- figures ------------------------------------------------------------------------
def test_dot_plot_ranked_models_intervals_and_kinds():
    intervals = {1: {s: Interval(29.5, 30.5) for s in figures.SERIES}}
    fig = figures.dot_plot(ROWS, "v2.1", intervals)
    labels = [(a.text, a.y) for a in fig.layout.annotations]
    assert [t for t, _ in labels] == ["#1 Alpha ✔", "#2 beta-XL", "#3 Gamma ✔"]
    assert [y for _, y in labels] == sorted(y for _, y in labels)
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # reversed: rank 1 on top
    names = {t.name for t in fig.data}
    assert names == {
        *figures.SERIES,
        texts.FIG_DOTS_LEGEND_VERIFIED,
        texts.FIG_DOTS_LEGEND_REPORTED,
    }
    averaged = [t for t in fig.data if t.name == "Averaged"]
    filled = next(t for t in averaged if not t.marker.symbol.endswith("-open"))
    opened = next(t for t in averaged if t.marker.symbol.endswith("-open"))
    assert list(filled.x) == [30.0, 28.0] and list(opened.x) == [29.0]  # verified vs reported
    assert list(filled.error_x.arrayminus) == pytest.approx([0.5, 0.0])  # Gamma: none given
    assert list(filled.error_x.array) == pytest.approx([0.5, 0.0])
    assert not opened.error_x.visible
    assert fig.layout.xaxis.range is None  # no cut axis: Plotly fits the dots


def test_figures_escape_names_and_handle_no_data():
    row = make_row("<b>evil</b>", 25.0, rank=1)
    label = figures.dot_plot([row], "v2.0", {}).layout.annotations[0].text
    assert "&lt;b&gt;evil&lt;/b&gt;" in label
    empty = figures.dot_plot([], "v2.0", {})
    assert not empty.data and empty.layout.annotations[0].text == texts.FIG_NO_DATA


def test_distribution_one_box_per_model_from_its_scored_images():
    scores = {"m1": {s: [1.0, 2.0, None] for s in STYLES}, "m2": {"photo": [3.0]}}
    fig = figures.score_distributions(scores, "v2.1")
    assert [t.name for t in fig.data] == ["m1", "m2"]
    assert list(fig.data[0].x) == list(STYLES) and list(fig.data[1].x) == ["photo"]
    assert list(fig.data[0].median) == [1.5] * 4 and list(fig.data[0].mean) == [1.5] * 4
    assert list(fig.data[1].q1) == [3.0]
    values = [1.0, 2.0, 3.0, 4.0, 100.0]  # 100 lies beyond the upper fence
    stats = figures.box_stats(values)
    assert (stats["q1"], stats["median"], stats["q3"]) == (2.0, 3.0, 4.0)
    assert stats["upperfence"] == 4.0 and stats["lowerfence"] == 1.0 and stats["mean"] == 22.0
    assert fig.layout.legend.y > 1  # above the plot, clear of the axis titles


def test_model_link_is_nofollow_noopener_and_only_http():
    from web.model_tab import link_html

    out = link_html('https://x.org/a?b=1&c="<2>"')
    assert out.startswith('<a href="https://x.org/a?b=1&amp;c=&quot;&lt;2&gt;&quot;"')
    assert 'rel="nofollow noopener noreferrer"' in out
    for bad in ("javascript:alert(1)", "data:text/html,x", None, "", "https://"):
        assert link_html(bad) == ""
