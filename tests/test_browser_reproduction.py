"""In headless Chromium: a published model reproduced (its archive from a hub cache made by
the test, scored with the tiny model) shows as a reported/verified pair with its difference
on the leaderboard and in the Reproduction view. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from leaderboard import Store
from leaderboard.seed import load_published
from scorer.pool import ScorerPool
from scorer.prompts import HUB_DATASET
from submissions import Worker
from submissions.reproduce import archive_map, queue_reproductions
from tests.conftest import make_benchmark
from tests.hubcache import folder_files, tar_bytes
from tests.test_app_server import launch
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    cell,
    open_view,
    pytestmark,
    shot,
)
from web import texts

__all__ = ["pytestmark"]


@pytest.fixture
def reproduced_app(app_settings, hub_cache, tmp_path):
    """An app whose store holds a verified twin of GLIDE's published v2.1 row."""
    images = folder_files(make_benchmark(tmp_path / "glide"), prefix="glide/")
    hub_cache.add_commit(HUB_DATASET, {f"{archive_map().folder}/glide.tar.gz": tar_bytes(images)})
    with Store.open(app_settings) as store:
        queue_reproductions(store, app_settings, version="v2.1", models=["GLIDE"])
        worker = Worker(store, app_settings, ScorerPool(app_settings))
        while worker.run_once():
            pass
        verified = next(r for r in store.leaderboard("v2.1") if r.kind == "verified")
    demo = launch(app_settings)
    yield demo.local_url, verified
    demo.close()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1800})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def test_reported_and_verified_pair_in_the_browser(page, reproduced_app):
    url, verified = reproduced_app
    published = next(r for r in load_published()["tables"]["v2.1"] if r["model"] == "GLIDE")
    avg_diff = f"Averaged {verified.averaged - published['averaged']:+.2f}"

    # the leaderboard: both GLIDE rows carry the mark and verified - reported
    open_view(page, url, "?q=GLIDE")  # a shared link to the search
    verified_row = page.locator("#hps-lb tr.hps-row-verified")
    assert texts.CUSTOM_PROMPTS_BADGE in verified_row.inner_text()
    marks = page.locator("#hps-lb td.hps-col-reproduction").get_by_text(avg_diff, exact=False)
    marks.first.wait_for(state="attached")
    texts_found = [t for t in marks.all_text_contents() if t.strip()]
    assert len(texts_found) == 2 and all(t.startswith(texts.NOT_REPRODUCED) for t in texts_found)
    models = page.locator("#hps-lb").get_by_role("link", name="GLIDE", exact=True)
    assert models.count() == 2  # the reported row and its verified twin
    shot(page, "leaderboard-reproduction")

    # the Reproduction view: the pair with per-style reported -> verified (difference)
    page.get_by_role("tab", name=texts.TAB_REPRODUCTION).click()
    anime = verified.styles["anime"].mean
    expected = f"{published['anime']:.2f} → {anime:.2f} ({anime - published['anime']:+.2f})"
    cell(page, "repro-table", expected)
    cell(page, "repro-table", "GLIDE")
    page.locator("#repro-summary").get_by_text("of 22 published rows", exact=False).wait_for()
    page.locator("#repro-plot .js-plotly-plot").first.wait_for()
    shot(page, "reproduction")
