"""Leaderboard, submit, model and head-to-head handlers against a real SQLite store and the
tiny model (no server)."""

from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path

import pytest

from scorer.benchmark import image_path
from scorer.errors import ConfigError
from scorer.pool import ScorerPool
from scorer.protocol import STYLES
from submissions import Worker
from tests.conftest import SMALL_PROMPTS_PER_STYLE, make_benchmark, zip_folder
from web import admin, texts
from web.context import AppContext
from web.figures import SERIES
from web.leaderboard_tab import api_row, figures_view, query_rows, table_html, write_csv
from web.model_tab import (
    h2h_table,
    model_choices,
    model_html,
    model_view,
    pair_view,
    prompt_order,
    step_index,
)
from web.submit_tab import (
    finished_links,
    progress_dict,
    progress_html,
    queue_frame,
    submit_upload,
    valid_id,
)

N = SMALL_PROMPTS_PER_STYLE
FOLDERS_NONE = dict.fromkeys(STYLES)


@pytest.fixture
def ctx(app_settings, app_store):
    return AppContext(app_settings, ScorerPool(app_settings), app_store)


def submit_zip(ctx, tmp_path, name, *, shade=0, missing=(), partial=False):
    slug = re.sub(r"\W+", "-", name) + f"-{shade}-{len(missing)}"
    folder = make_benchmark(tmp_path / f"bench-{slug}", shade=shade, missing=missing)
    zipped = zip_folder(folder, tmp_path / f"{slug}.zip")
    meta = dict(model=name, link=None, organisation=None, notes="n")
    return submit_upload(ctx, str(zipped), FOLDERS_NONE, **meta, version="v2.1", partial=partial)


def score_all(ctx):
    worker = Worker(ctx.store, ctx.settings, ctx.pool)
    while worker.run_once():
        pass


# --- leaderboard --------------------------------------------------------------------
def test_seeded_leaderboard_keeps_versions_apart(ctx):
    v21 = query_rows(ctx, "v2.1", "", False, False)
    v20 = query_rows(ctx, "v2.0", "", False, False)
    assert len(v21) == 22 and len(v20) == 22
    assert {r.version for r in v21} == {"v2.1"} and {r.version for r in v20} == {"v2.0"}
    html_text = table_html(ctx, "v2.0")
    assert "22 of 22 models · HPS v2.0" in html_text
    assert html_text.count('<tr class="hps-row-reported">') == 22
    assert html_text.index(v20[0].model) < html_text.index(v20[1].model)  # best first
    csv_path, dots, dist = figures_view(ctx, "v2.0")
    assert "v2.0" in dots.layout.title.text and len(dots.data) > 0
    assert not dist.data  # no verified rows yet
    with open(csv_path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["version"] for r in rows} == {"v2.0"} and len(rows) == 22


def test_leaderboard_search_filters_and_no_match_state(ctx):
    assert query_rows(ctx, "v2.1", "", True, False) == []
    some = query_rows(ctx, "v2.1", "sdxl", False, False)
    assert some and all("sdxl" in r.model.lower() for r in some)
    out = table_html(ctx, "v2.1", "<zz>", False, False)
    assert "No model matches <b>&lt;zz&gt;</b>" in out and "0 of 22 models" in out
    out = table_html(ctx, "v2.1", "", True, False, "model")
    assert texts.LB_NO_MATCH_FILTERS in out and "sorted by Model" in out


def test_ranks_are_global_and_verified_rows_get_rank_intervals(ctx, tmp_path):
    sid = submit_zip(ctx, tmp_path, "Tiny")["submission_id"]
    score_all(ctx)
    full = ctx.store.leaderboard("v2.1")
    mine = next(r for r in full if r.submission_id == sid)
    only = ctx.store.leaderboard("v2.1", verified_only=True)
    assert [r.submission_id for r in only] == [sid]
    assert only[0].rank == mine.rank  # filters hide rows, never renumber them
    assert mine.rank_low <= mine.rank <= mine.rank_high
    ci = mine.mean_ci  # from the same resamples: each style mean and Averaged
    assert ci["averaged"].low <= mine.averaged <= ci["averaged"].high
    assert all(ci[s].low <= mine.styles[s].mean <= ci[s].high for s in STYLES)
    assert all(r.rank_low is None for r in full if r.kind == "reported")
    table = table_html(ctx, "v2.1", "", True, False)
    assert f'<span class="hps-rank">{mine.rank}</span>' in table
    assert api_row(mine)["rank_ci"] == [mine.rank_low, mine.rank_high]
    ctx.store.hide_submission(sid)  # a new key: the cached intervals are not reused
    assert all(r.submission_id != sid for r in ctx.store.leaderboard("v2.1"))


# --- submit -------------------------------------------------------------------------
def test_zip_submission_is_scored_and_reaches_the_leaderboard(ctx, tmp_path):
    result = submit_zip(ctx, tmp_path, "<i>Tiny</i> model")
    assert result["ok"] and result["status"] == "queued" and not result["duplicate"]
    assert "OK" in result["report_text"]
    sid = result["submission_id"]
    assert progress_dict(ctx, sid)["done"] == 0
    score_all(ctx)
    p = progress_dict(ctx, sid)
    assert (p["status"], p["done"], p["total"]) == ("done", 4 * N, 4 * N)
    html = progress_html(p)
    assert f'value="{4 * N}" max="{4 * N}"' in html and "done" in html
    rows = query_rows(ctx, "v2.1", "tiny", True, False)
    assert [r.model for r in rows] == ["<i>Tiny</i> model"]
    row = api_row(rows[0])
    assert row["kind"] == "verified" and row["n_images"] == 4 * N
    table = table_html(ctx, "v2.1", "tiny")
    assert ">&lt;i&gt;Tiny&lt;/i&gt; model</a>" in table  # shown as typed, as plain text
    _, dots, dist = figures_view(ctx, "v2.1", "tiny")
    assert [t.name for t in dist.data] == [f"&lt;i&gt;Tiny&lt;/i&gt; model (#{sid})"]
    series = [t for t in dots.data if t.name in SERIES]  # not the legend's key entries
    filled = [t for t in series if not t.marker.symbol.endswith("-open")]
    assert filled and all(t.error_x.visible for t in filled)  # verified: with intervals
    queue = queue_frame(ctx)
    assert queue.iloc[0]["status"] == "done" and queue.iloc[0]["images"] == f"{4 * N}/{4 * N}"
    # the same images again: not scored twice
    again = submit_zip(ctx, tmp_path, "again")
    assert again["duplicate"] and again["submission_id"] == sid


def test_stored_scores_are_the_scorers_scores_for_each_prompt(ctx, tmp_path):
    sid = submit_zip(ctx, tmp_path, "m")["submission_id"]
    score_all(ctx)
    scores = ctx.store.image_scores(sid)
    prompts = ctx.prompts().styles
    scorer = ctx.pool.get("v2.1")
    for style in ("anime", "photo"):
        path = image_path(ctx.store.submission_folder(sid), style, 3)
        expected = scorer.score([path], prompts[style][3])[0]
        assert scores[style][3] == pytest.approx(expected, abs=1e-4)  # batching: float noise


def test_folder_upload_is_laid_out_by_style(ctx, tmp_path):
    folder = make_benchmark(tmp_path / "bench")
    folders = {s: sorted(str(p) for p in (folder / s).iterdir()) for s in STYLES}
    meta = dict(model="folders", link="https://example.org", organisation="Org", notes=None)
    result = submit_upload(ctx, None, folders, **meta, version="v2.1", partial=False)
    assert result["ok"], result["report_text"]
    stored = ctx.store.submission_folder(result["submission_id"])
    assert image_path(stored, "photo", N - 1) is not None
    assert not any((ctx.settings.data_path / "uploads").iterdir())  # staging removed
    zipped = zip_folder(folder, tmp_path / "same.zip")  # same images zipped: a duplicate
    meta["model"] = "zip"
    dup = submit_upload(ctx, str(zipped), FOLDERS_NONE, **meta, version="v2.1", partial=False)
    assert dup["duplicate"] and dup["submission_id"] == result["submission_id"]


def test_incomplete_upload_is_reported_not_queued_unless_partial(ctx, tmp_path):
    result = submit_zip(ctx, tmp_path, "holes", missing={("anime", 1), ("anime", 2)})
    assert not result["ok"] and result["submission_id"] is None
    assert "anime" in result["report"]["missing"]
    assert re.search(r"00001.*00002", result["report"]["missing"]["anime"])
    assert ctx.store.list_submissions() == []
    partial = submit_zip(ctx, tmp_path, "holes2", missing={("anime", 1)}, partial=True)
    assert partial["ok"]
    score_all(ctx)
    assert query_rows(ctx, "v2.1", "holes2", False, False) == []  # partial hidden by default
    [row] = query_rows(ctx, "v2.1", "holes2", False, True)
    assert row.partial and row.rank is None


def test_upload_errors_name_the_problem(ctx, tmp_path):
    with pytest.raises(ConfigError, match="nothing uploaded"):
        submit_upload(
            ctx, None, FOLDERS_NONE, model="m", link=None, organisation=None, notes=None,
            version="v2.1", partial=False,
        )  # fmt: skip
    from submissions import InvalidSubmission

    with pytest.raises(InvalidSubmission, match="model name"):
        submit_zip(ctx, tmp_path, "   ")


# --- admin --------------------------------------------------------------------------
def test_admin_actions_need_the_token(ctx, tmp_path):
    sid = submit_zip(ctx, tmp_path, "victim")["submission_id"]
    with pytest.raises(admin.AdminDenied, match="off"):
        admin.admin_action(ctx.store, ctx.settings, "anything", "hide", sid)
    settings = ctx.settings.replace(admin_token="s3cret")
    with pytest.raises(admin.AdminDenied, match="wrong"):
        admin.admin_action(ctx.store, settings, "s3cre", "hide", sid)
    assert ctx.store.get_submission(sid).hidden is False
    score_all(ctx)
    assert query_rows(ctx, "v2.1", "victim", False, False)
    admin.admin_action(ctx.store, settings, "s3cret", "hide", sid)
    assert ctx.store.list_submissions() == []
    assert query_rows(ctx, "v2.1", "victim", False, False) == []  # off the leaderboard
    assert queue_frame(ctx).empty  # the public queue hides it; the admin's lists it to unhide
    assert list(queue_frame(ctx, include_hidden=True)["status"]) == ["done" + texts.HIDDEN_MARK]
    admin.admin_action(ctx.store, settings, "s3cret", "delete", sid)
    assert not ctx.store.submission_folder(sid).exists()


def test_following_no_submission_is_harmless_and_a_finished_job_links_to_its_views(ctx, tmp_path):
    assert [valid_id(v) for v in (None, "", 0, -3, "x", 2.0, "7")] == [
        None, None, None, None, None, 2, 7,
    ]  # fmt: skip
    sid = submit_zip(ctx, tmp_path, "Linked & co")["submission_id"]
    score_all(ctx)
    links = finished_links(ctx, sid)
    assert f'href="?tab=model&amp;model=v%3A{sid}"' in links
    assert 'href="?q=Linked+%26+co&amp;verified=1"' in links
    done = progress_html(progress_dict(ctx, sid), links)
    assert links in done
    running = dict(progress_dict(ctx, sid), status="running")
    assert links not in progress_html(running, links)  # only once the job is done


def test_wrong_admin_tokens_are_throttled_per_client(ctx):
    now = [1000.0]
    throttle = admin.Throttle(max_failures=3, window_s=60, clock=lambda: now[0])
    settings = ctx.settings.replace(admin_token="s3cret")

    def check(token, client="1.2.3.4"):
        admin.check_token(settings, token, throttle=throttle, client=client)

    for _ in range(3):
        with pytest.raises(admin.AdminDenied, match="wrong admin token"):
            check("guess")
    # the right token is refused too while the address is throttled, without being compared
    with pytest.raises(admin.AdminDenied, match="try again in 60 s"):
        check("s3cret")
    check("s3cret", client="5.6.7.8")  # other clients are not affected
    now[0] += 60.5
    check("s3cret")


@pytest.mark.parametrize("value", ["abc", "1.5", -1, 0, 1.5, True, "１", 2**40, float("nan")])
def test_bad_submission_ids_are_user_errors(ctx, value):
    with pytest.raises(ConfigError, match="is not a submission number"):
        progress_dict(ctx, value)


# --- model and head-to-head ---------------------------------------------------------
def test_model_view_of_verified_and_reported_rows(ctx, tmp_path):
    sid = submit_zip(ctx, tmp_path, "<b>bold</b>")["submission_id"]  # notes="n"
    score_all(ctx)
    choices = dict((v, label) for label, v in model_choices(ctx.store.leaderboard("v2.1")))
    assert f"v:{sid}" in choices and any(v.startswith("r:") for v in choices)
    view = model_view(ctx, "v2.1", f"v:{sid}")
    page = model_html(view)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert f"rank {view.row.rank} (95% interval {view.row.rank_low}–" in page
    assert f"{texts.LABEL_NOTES}: n" in view.details.splitlines()
    assert "Precision: fp32" in view.details
    styles = view.styles
    assert list(styles["style"]) == list(STYLES) and all(
        " to " in c for c in styles["95% CI of mean"]
    )
    scores = ctx.store.image_scores(sid)
    flat = sorted((s for v in scores.values() for s in v), reverse=True)
    assert list(view.best["score"]) == pytest.approx([round(s, 3) for s in flat[:10]])
    assert list(view.worst["score"]) == pytest.approx([round(s, 3) for s in flat[::-1][:10]])
    prompts = ctx.prompts().styles
    top = view.best.iloc[0]
    assert top["prompt"] == prompts[top["style"]][top["index"]]
    reported = next(v for v in choices if v.startswith("r:"))
    view = model_view(ctx, "v2.1", reported)
    assert texts.MODEL_REPORTED_ONLY in model_html(view) and view.best is None
    with pytest.raises(ConfigError, match="no model 'v:999'"):
        model_view(ctx, "v2.1", "v:999")


def test_head_to_head_win_rates_are_complementary(ctx, tmp_path):
    a = submit_zip(ctx, tmp_path, "A", shade=0)["submission_id"]
    b = submit_zip(ctx, tmp_path, "B", shade=90)["submission_id"]
    score_all(ctx)
    sa, sb = ctx.store.image_scores(a), ctx.store.image_scores(b)
    ab, summary = h2h_table(sa, sb, "Model A", "Model B")
    ba, _ = h2h_table(sb, sa)
    assert list(ab["style"]) == [*STYLES, "overall"]
    for x, y in zip(ab["A wins"], ba["A wins"]):
        assert float(x.rstrip("%")) + float(y.rstrip("%")) == pytest.approx(100, abs=0.15)
    wins = sum(x > y for s in STYLES for x, y in zip(sa[s], sb[s]))
    assert ab.iloc[-1]["A wins"] == f"{wins / (4 * N):.1%}"
    assert summary.startswith("Overall, Model A (A) scores higher than Model B (B)")
    items, prompt = pair_view(ctx, "v2.1", f"v:{a}", f"v:{b}", "paintings", 2)
    assert [Path(p).parent.parent.name for p, _ in items] == [str(a), str(b)]
    assert items[0][1].startswith(f"A (#{a}): ") and f"{sa['paintings'][2]:.2f}" in items[0][1]
    assert prompt == ctx.prompts().styles["paintings"][2]
    assert pair_view(ctx, "v2.1", None, f"v:{b}", "photo", 0) == ([], "")
    with pytest.raises(ConfigError, match=f"no prompt {N} in photo: .* prompts 0 to {N - 1}"):
        pair_view(ctx, "v2.1", f"v:{a}", f"v:{b}", "photo", N)
    order = prompt_order(sa, sb, "photo", largest_first=True)
    gaps = [abs(sa["photo"][i] - sb["photo"][i]) for i in order]
    assert sorted(order) == list(range(N)) and gaps == sorted(gaps, reverse=True)
    assert prompt_order(sa, sb, "photo") == list(range(N))
    assert step_index(order, order[0], 1) == order[1]
    assert step_index(order, order[0], -1) == order[0]  # clamped at the ends
    assert step_index(order, 999, 1) == order[0]
    # anyone can call these events: they reach only rows the leaderboard shows
    queued = submit_zip(ctx, tmp_path, "C", shade=40)["submission_id"]
    ctx.store.hide_submission(b)
    for other in (f"v:{b}", f"v:{queued}", "v:999", "v:x", f"v:{a} "):
        with pytest.raises(ConfigError, match="not a verified model"):
            pair_view(ctx, "v2.1", f"v:{a}", other, "photo", 0)
    with pytest.raises(ConfigError, match="not a verified model"):
        pair_view(ctx, "v2.0", f"v:{a}", f"v:{a}", "photo", 0)  # a v2.1 row


def test_exported_csvs_are_pruned_by_age(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    old = folder / "hps-leaderboard-v2.1-0123456789.csv"
    old.write_text("old export")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    unrelated = folder / "notes.txt"
    unrelated.write_text("not an export")
    os.utime(unrelated, (week_ago, week_ago))
    first = write_csv(folder, "v2.1", [], max_age_s=3600)
    second = write_csv(folder, "v2.0", [], max_age_s=3600)
    assert not old.exists()  # older than an hour: deleted
    assert unrelated.exists()  # only the app's own exports are touched
    assert {Path(first).name, Path(second).name} | {"notes.txt"} == {
        p.name for p in folder.iterdir()
    }
    # many downloads of the same table reuse one file
    assert write_csv(folder, "v2.1", [], max_age_s=3600) == first
