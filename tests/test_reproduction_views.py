"""The reported/verified pairs in the web app: the leaderboard's reproduction cell, the
Reproduction view (table and verified-vs-reported plot), the admin 'reproduce' action and a
hub reference in the Submit tab, against a real SQLite store, the tiny model and a hub cache
made by the test (no server)."""

from __future__ import annotations

import pytest

from leaderboard.seed import load_published
from scorer.errors import HPSError
from scorer.pool import ScorerPool
from scorer.prompts import HUB_DATASET
from scorer.protocol import STYLES
from submissions import Worker
from submissions.reproduce import archive_map
from tests.conftest import make_benchmark
from tests.hubcache import folder_files, tar_bytes
from web import texts
from web.admin import AdminDenied
from web.context import AppContext
from web.reproduction_tab import reproduce_action, reproduction_view
from web.submit_tab import submit_upload
from web.tables import leaderboard_html, reproduction_cell

FOLDERS_NONE = dict.fromkeys(STYLES)


@pytest.fixture
def ctx(app_settings, app_store):
    settings = app_settings.replace(admin_token="secret")
    return AppContext(settings, ScorerPool(settings), app_store)


@pytest.fixture
def dataset(hub_cache, tmp_path):
    """zhwang/HPDv2 with GLIDE's archive (``glide/<style>/<index>.png``) and a user dataset
    with a benchmark folder."""
    images = folder_files(make_benchmark(tmp_path / "glide"), prefix="glide/")
    files = {f"{archive_map().folder}/glide.tar.gz": tar_bytes(images)}
    hub_cache.add_commit(HUB_DATASET, files)
    user = folder_files(make_benchmark(tmp_path / "user", shade=9), prefix="imgs/")
    hub_cache.add_commit("someone/bench", user)
    return hub_cache


def score_all(ctx):
    worker = Worker(ctx.store, ctx.settings, ctx.pool)
    while worker.run_once():
        pass


def test_admin_reproduce_then_pairs_everywhere(ctx, dataset):
    with pytest.raises(AdminDenied):
        reproduce_action(ctx, "wrong", "v2.1", ["GLIDE"])
    with pytest.raises(HPSError, match="'nope' is not a model of the published v2.1 table"):
        reproduce_action(ctx, "secret", "v2.1", ["nope"])
    text = reproduce_action(ctx, "secret", "v2.1", ["GLIDE"])
    assert text.startswith("GLIDE: #") and texts.REPRO_QUEUED in text
    score_all(ctx)

    published = next(r for r in load_published()["tables"]["v2.1"] if r["model"] == "GLIDE")
    summary, frame, figure = reproduction_view(ctx, "v2.1")
    assert "**1** of 22 published rows" in summary
    (line,) = frame.to_dict("records")
    verified = next(
        r for r in ctx.store.leaderboard("v2.1") if r.kind == "verified" and r.model == "GLIDE"
    )
    for style in STYLES:
        mean = verified.styles[style].mean
        expected = f"{published[style]:.2f} → {mean:.2f} ({mean - published[style]:+.2f})"
        assert line[style] == expected
    assert line["status"].startswith(texts.NOT_REPRODUCED)
    assert line["submission"] == verified.submission_id
    # verified against reported: a marker per column, and the y = x line
    markers = {t.name: t for t in figure.data if t.mode == "markers"}
    assert set(markers) == {*STYLES, "Averaged"}
    assert list(markers["anime"].x) == [published["anime"]]
    assert list(markers["anime"].y) == [verified.styles["anime"].mean]
    (diagonal,) = [t for t in figure.data if t.mode == "lines"]
    assert list(diagonal.x) == list(diagonal.y)

    # the leaderboard: both rows of the pair carry the mark and the differences
    rows = [r for r in ctx.store.leaderboard("v2.1") if r.model == "GLIDE"]
    cells = [reproduction_cell(r) for r in rows]
    assert len(cells) == 2 and cells[0] == cells[1]
    table = leaderboard_html(rows, default_version="v2.1")
    assert table.count(f'<td class="hps-text hps-col-reproduction hps-wide">{cells[0]}') == 2
    diff = verified.averaged - published["averaged"]
    assert cells[0].startswith(texts.NOT_REPRODUCED) and f"Averaged {diff:+.2f}" in cells[0]
    other = [r for r in ctx.store.leaderboard("v2.1") if r.model != "GLIDE"]
    assert {reproduction_cell(r) for r in other} == {""}

    # the same archive again: nothing is scored twice
    again = reproduce_action(ctx, "secret", "v2.1", ["glide"])
    assert texts.REPRO_DUPLICATE in again


def test_submit_tab_takes_a_hub_reference(ctx, dataset):
    meta = dict(model="hub user", link=None, organisation=None, notes=None, version="v2.1")
    result = submit_upload(
        ctx, None, FOLDERS_NONE, **meta, partial=False, hub_ref="hf://datasets/someone/bench/imgs"
    )
    assert result["ok"], result["report_text"]
    info = ctx.store.get_submission(result["submission_id"])
    assert info.hub_repo == "someone/bench" and info.hub_path == "imgs"
    assert len(info.hub_revision) == 40
    with pytest.raises(HPSError, match="not several"):
        submit_upload(
            ctx, "x.zip", FOLDERS_NONE, **meta, partial=False, hub_ref="hf://datasets/a/b"
        )
    with pytest.raises(HPSError, match="no file or folder 'missing'"):
        submit_upload(
            ctx, None, FOLDERS_NONE, **meta, partial=False,
            hub_ref="hf://datasets/someone/bench/missing",
        )  # fmt: skip
