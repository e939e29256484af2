"""End to end in headless Chromium: open the leaderboard, score an uploaded image, submit a
small benchmark zip and watch it reach the leaderboard. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import SMALL_PROMPTS_PER_STYLE, make_benchmark, zip_folder
from tests.test_app_server import launch
from web import texts

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    # CI sets HPS_REQUIRE_BROWSER=1: there a missing browser fails instead of skipping
    pytest.mark.skipif(
        not CHROMIUM.is_file() and os.environ.get("HPS_REQUIRE_BROWSER") != "1",
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest.fixture
def app_url(app_settings):
    from web.app import start_worker

    demo = launch(app_settings)
    _, stop = start_worker(demo.hps_context)
    yield demo.local_url
    stop.set()
    demo.close()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


def cell(page, table_id: str, text: str):
    """A table cell with ``text`` (attached: Gradio keeps hidden copies of cells)."""
    locator = page.locator(f"#{table_id}").get_by_text(text, exact=True).first
    locator.wait_for(state="attached")
    return locator


def test_leaderboard_score_and_submit_in_the_browser(page, app_url, tmp_path):
    # 1. the leaderboard, seeded with the published rows, and its plots
    page.goto(app_url)
    cell(page, "leaderboard-table", "SDXL Refiner 0.9")
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "leaderboard")

    # 2. score an uploaded image
    image = tmp_path / "my red image.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(image)
    page.get_by_role("tab", name=texts.TAB_SCORE).click()
    page.locator("#score-files input[type=file]").set_input_files(str(image))
    page.locator("#score-files").get_by_text(image.name).first.wait_for()
    page.locator("#score-prompt textarea").fill("a red square")
    page.locator("#score-button").click()
    cell(page, "score-table", image.name)
    caption = page.locator("#score-gallery").get_by_text("#1").first
    caption.wait_for()
    assert image.name in caption.inner_text()
    shot(page, "score")

    # 3. submit a small benchmark zip and follow its job to the end
    bench = zip_folder(make_benchmark(tmp_path / "bench"), tmp_path / "bench.zip")
    page.get_by_role("tab", name=texts.TAB_SUBMIT).click()
    page.locator("#submit-zip input[type=file]").set_input_files(str(bench))
    page.locator("#submit-zip").get_by_text(bench.name).first.wait_for()
    page.locator("#submit-model input, #submit-model textarea").first.fill("<b>Browser</b> model")
    page.locator("#submit-button").click()
    report = page.locator("#submit-report textarea")
    page.wait_for_function(
        "el => el.value.includes('accepted')", arg=report.element_handle(), timeout=TIMEOUT_MS
    )
    page.locator("#hps-progress-line").get_by_text("done", exact=False).wait_for()
    total = 4 * SMALL_PROMPTS_PER_STYLE
    assert f"{total} / {total} images" in page.locator("#hps-progress-line").inner_text()
    cell(page, "submit-queue", "<b>Browser</b> model")  # shown as typed: text, not HTML
    shot(page, "submit")

    # 4. the scored submission is on the leaderboard as a verified row
    page.get_by_role("tab", name=texts.TAB_LEADERBOARD).click()
    page.get_by_label(texts.LABEL_VERIFIED_ONLY).check()
    cell(page, "leaderboard-table", "<b>Browser</b> model")
    # scored on the test's small prompt set, so marked as not the official prompt lists
    cell(page, "leaderboard-table", texts.BADGE["verified"] + texts.CUSTOM_PROMPTS_MARK)
    assert page.locator("#leaderboard-table b").count() == 0  # no HTML injected
    shot(page, "leaderboard-verified")
    with page.expect_download() as download:
        page.get_by_role("button", name=texts.BUTTON_CSV).click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,model,version,kind")
    assert len(lines) == 2 and "<b>Browser</b> model,v2.1,verified" in lines[1]


def test_without_a_checkpoint_the_score_tab_says_why_and_how(page, tmp_path):
    from web.app import preload
    from web.settings import AppSettings

    demo = launch(AppSettings(data_dir=str(tmp_path / "data"), worker=False))
    try:
        preload(demo.hps_context.pool, "v2.1").join()  # as main() does at start
        page.goto(demo.local_url)
        cell(page, "leaderboard-table", "SDXL Base 0.9")  # browsing works
        page.get_by_role("tab", name=texts.TAB_SCORE).click()
        notice = page.get_by_text("Scoring is not available for HPS v2.1").first
        notice.wait_for()
        body = page.locator("body").inner_text()
        assert "HPS_CHECKPOINT=/path/to/HPS_v2.1_compressed.pt" in body  # the CheckpointError
        assert "HPS_ARCH" in body  # and how to provide one
        shot(page, "no-checkpoint")
    finally:
        demo.close()
