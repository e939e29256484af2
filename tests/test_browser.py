"""End to end in headless Chromium at 1400 px and 390 px: the leaderboard's first view,
sorting, search and phone layout; crafted URLs that open the Model and Head-to-head views;
their empty states and errors; scoring an image; submitting a benchmark zip and following it
to the leaderboard; admin actions. One server per module. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bench.board_data import add_verified
from tests.conftest import SMALL_PROMPTS_PER_STYLE, make_benchmark, write_small_prompts, zip_folder
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
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
TOKEN = "browser-admin"

pytestmark = [
    pytest.mark.browser,
    # CI sets HPS_REQUIRE_BROWSER=1: there a missing browser fails instead of skipping
    pytest.mark.skipif(
        not CHROMIUM.is_file() and os.environ.get("HPS_REQUIRE_BROWSER") != "1",
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_checkpoint):
    """One server for the module: the published rows, three verified models with images
    (written through the job path), the scoring worker, an admin token."""
    from web.app import start_worker
    from web.settings import AppSettings

    tmp = tmp_path_factory.mktemp("browser")
    ckpt, arch = tiny_checkpoint
    settings = AppSettings(
        data_dir=str(tmp / "data"), checkpoint=str(ckpt), arch=str(arch), device="cpu",
        precision="fp32", worker=False, host="127.0.0.1", admin_token=TOKEN,
        prompts=str(write_small_prompts(tmp / "prompts.json")), prompt_count_check=False,
        worker_poll_s=0.2,
    )  # fmt: skip
    demo = launch(settings)
    ctx = demo.hps_context
    prompts = ctx.prompts().styles
    ids = [
        add_verified(ctx.store, prompts, name, centre=centre, seed=k, images=True)
        for k, (name, centre) in enumerate([("Verified A", 27.2), ("Verified B", 26.9),
                                            ("Verified C", 21.0)])
    ]  # fmt: skip
    _, stop = start_worker(ctx)
    yield demo.local_url, ids, tmp
    stop.set()
    demo.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser, viewport=DESKTOP):
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(TIMEOUT_MS)
    return page


def shot(page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}-{width}.png"), full_page=full_page)


def cell(page, element_id: str, text: str):
    """An element of ``#element_id`` with exactly ``text`` (attached: Gradio keeps hidden
    copies of some cells)."""
    locator = page.locator(f"#{element_id}").get_by_text(text, exact=True).first
    locator.wait_for(state="attached")
    return locator


def open_view(page, base: str, query: str = "") -> None:
    """Open a URL and wait until its view is restored (the app's own table has rows)."""
    page.goto(base + query)
    page.locator("#hps-lb .hps-rank").first.wait_for(state="attached")
    page.wait_for_function("window.hpsRestored === true")


def params(page) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlparse

    return dict(parse_qsl(urlparse(page.url).query))


def rank_of(page, model: str) -> str:
    row = page.locator("#hps-lb tr", has=page.get_by_role("link", name=model, exact=True))
    return row.locator(".hps-rank").inner_text()


# --- leaderboard ----------------------------------------------------------------------------
def test_leaderboard_first_view_sort_search_and_ranks(app, browser):
    url, ids, _ = app
    first = httpx.get(url, params={"sort": "photo"}, timeout=30).text
    assert 'id="hps-first-lb"' in first and "Verified A" in first  # table in the first response
    assert (
        'aria-sort="descending"><button type="button" class="hps-sort" data-sort="photo"' in first
    )
    assert 'id="hps-first-lb"' not in httpx.get(url, params={"tab": "model"}, timeout=30).text

    page = new_page(browser)
    open_view(page, url)
    assert page.locator("#hps-first-view").count() == 0  # the first view made way
    rank_a = rank_of(page, "Verified A")
    row_a = page.locator("#hps-lb tr", has=page.get_by_role("link", name="Verified A"))
    assert re.search(r"\d+–\d+", row_a.locator(".hps-ci").inner_text())  # rank interval
    reported = page.locator("#hps-lb tr.hps-row-reported").first
    assert texts.NO_CI in reported.inner_text() and texts.REPORTED_SOURCE in reported.inner_text()
    assert "±" in row_a.locator("td.hps-col-anime").inner_text()
    assert row_a.locator("td.hps-col-anime").evaluate("e => getComputedStyle(e).textAlign") == (
        "right"
    )
    header = page.locator("#hps-lb thead th").first
    assert header.evaluate("e => getComputedStyle(e).position") == "sticky"
    page.locator("#hps-lb").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "leaderboard")

    # a click on a header sorts by it, ranks stay; the URL keeps the sort
    page.locator('#hps-lb button[data-sort="photo"]').click()
    page.locator('#hps-lb th[aria-sort] button[data-sort="photo"]').wait_for()
    page.wait_for_function("location.search.includes('sort=photo')")
    assert rank_of(page, "Verified A") == rank_a

    # search: no match is a designed state, and the URL keeps it
    search = page.locator("#lb-search textarea, #lb-search input").first
    search.click()
    search.press_sequentially("no such model")  # typed: Gradio reacts to key input
    page.locator("#hps-lb .hps-empty").wait_for()
    assert "No model matches" in page.locator("#hps-lb .hps-empty").inner_text()
    page.wait_for_function("location.search.includes('q=no+such+model')")
    shot(page, "leaderboard-no-match", full_page=False)

    # a crafted URL: verified only, ranks global (not renumbered from 1)
    open_view(page, url, "?verified=1&sort=Averaged")
    assert page.get_by_label(texts.LABEL_VERIFIED_ONLY).is_checked()
    assert page.locator("#hps-lb tr.hps-row-reported").count() == 0
    assert rank_of(page, "Verified A") == rank_a != "1"

    # every row links to its model view
    page.get_by_role("link", name="Verified A", exact=True).first.click()
    page.locator("#model-view h2").get_by_text("Verified A").wait_for()
    assert params(page)["tab"] == "model" and params(page)["model"] == f"v:{ids[0]}"
    page.close()


def test_leaderboard_on_a_phone(app, browser):
    url, _, _ = app
    page = new_page(browser, PHONE)
    open_view(page, url)
    for selector in ("td.hps-col-rank", "td.hps-col-model", "td.hps-col-Averaged"):
        box = page.locator(f"#hps-lb {selector}").first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    assert not page.locator("#hps-lb td.hps-col-anime").first.is_visible()  # styles folded
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.locator("#lb-search").is_visible()  # filters behind one control
    page.locator("#lb-filters").get_by_text(texts.LABEL_FILTERS).click()
    page.locator("#lb-search").wait_for(state="visible")
    page.locator(".js-plotly-plot").first.wait_for()
    plot = page.locator("#lb-dots").bounding_box()
    column = page.locator("#leaderboard-table").bounding_box()
    assert plot["width"] >= column["width"] - 2  # as wide as the page's column
    shot(page, "leaderboard")
    page.get_by_role("tab", name=texts.TAB_MODEL).click()  # tabs reachable
    page.locator("#model-view").get_by_text("Pick a model").wait_for()
    page.close()


# --- model and head-to-head -------------------------------------------------------------------
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1400", "390"])
def test_crafted_urls_open_model_and_head_to_head(app, browser, viewport):
    url, (a, b, c), _ = app
    page = new_page(browser, viewport)

    open_view(page, url, "?tab=model")
    empty = page.locator("#model-view .hps-empty-state")
    assert "Pick a model" in empty.inner_text() and page.locator("#model-view table").count() == 0
    shot(page, "model-empty", full_page=False)

    open_view(page, url, f"?tab=model&model=v:{b}")
    view = page.locator("#model-view")
    view.locator("h2").get_by_text("Verified B").wait_for()
    assert "95% interval" in view.inner_text() and view.locator("#model-styles").count() == 1
    assert page.locator("#model-copy").is_visible()
    shot(page, "model")

    open_view(page, url, "?tab=h2h")
    assert "Pick two verified models" in page.locator("#h2h-summary").inner_text()
    shot(page, "h2h-empty", full_page=False)

    open_view(page, url, f"?tab=h2h&a=v:{a}&b=v:{c}&style=photo&prompt=2")
    summary = page.locator("#h2h-summary .hps-summary")
    summary.wait_for()
    assert "Verified A (A)" in summary.inner_text() and "Verified C (B)" in summary.inner_text()
    assert "photo #2" in page.locator("#h2h-prompt").inner_text()
    for side in ("a", "b"):
        image = page.locator(f"#h2h-image-{side} img")
        image.wait_for()
        assert image.bounding_box()["width"] >= 100  # a sensible size
    assert re.search(r"A \d+\.\d\d · B \d+\.\d\d", page.locator("#h2h-prompt").inner_text())
    assert page.locator("#h2h-copy").is_visible()
    shot(page, "h2h")

    page.locator("#h2h-next").click()
    page.locator("#h2h-prompt").get_by_text("photo #3").wait_for()
    page.wait_for_function("location.search.includes('prompt=3')")
    page.get_by_label(texts.LABEL_LARGEST_FIRST).check()
    page.wait_for_function("!document.querySelector('#h2h-prompt').innerText.includes('#3:')")

    # out of range: said so, the last pair stays on screen
    shown = page.locator("#h2h-prompt").inner_text()
    index = page.locator("#h2h-index input")
    index.fill(str(SMALL_PROMPTS_PER_STYLE + 50))
    index.press("Enter")
    error = page.locator("#h2h-error .hps-error")
    error.wait_for()
    assert f"no prompt {SMALL_PROMPTS_PER_STYLE + 50} in photo" in error.inner_text()
    assert page.locator("#h2h-prompt").inner_text() == shown
    shot(page, "h2h-out-of-range")
    page.close()


# --- scoring, submission, admin -------------------------------------------------------------
def test_score_submit_follow_and_admin_in_the_browser(app, browser, tmp_path):
    url, _, _ = app
    page = new_page(browser)
    open_view(page, url)

    # 1. score an uploaded image
    page.get_by_role("tab", name=texts.TAB_SCORE).click()
    page.wait_for_function("location.search.includes('tab=score')")
    image = tmp_path / "my red image.png"
    Image.new("RGB", (64, 48), (200, 40, 40)).save(image)
    page.locator("#score-files input[type=file]").set_input_files(str(image))
    page.locator("#score-files").get_by_text(image.name).first.wait_for()
    page.locator("#score-prompt textarea").fill("a red square")
    page.locator("#score-button").click()
    page.locator("#score-table").get_by_text(image.name, exact=True).first.wait_for(
        state="attached"
    )
    caption = page.locator("#score-gallery").get_by_text("#1").first
    caption.wait_for()
    assert image.name in caption.inner_text()
    shot(page, "score")

    # 2. following no submission is harmless
    page.get_by_role("tab", name=texts.TAB_SUBMIT).click()
    page.get_by_role("button", name=texts.BUTTON_REFRESH).click()
    page.get_by_text(texts.PROGRESS_NONE).first.wait_for()
    assert page.locator(".toast-body").count() == 0  # no error toast

    # 3. submit a small benchmark zip: the report comes into view, the job is followed
    bench = zip_folder(make_benchmark(tmp_path / "bench"), tmp_path / "bench.zip")
    page.locator("#submit-zip input[type=file]").set_input_files(str(bench))
    page.locator("#submit-zip").get_by_text(bench.name).first.wait_for()
    page.locator("#submit-model input, #submit-model textarea").first.fill("<b>Browser</b> model")
    page.locator("#submit-button").click()
    report = page.locator("#submit-report textarea")
    page.wait_for_function(
        "el => el.value.includes('accepted')", arg=report.element_handle(), timeout=TIMEOUT_MS
    )
    page.wait_for_function(
        "() => { const r = document.querySelector('#submit-report').getBoundingClientRect();"
        " return r.top < window.innerHeight && r.bottom > 0; }",
        timeout=10_000,
    )  # where the visitor is looking
    page.locator("#hps-progress-line").get_by_text("done", exact=False).wait_for()
    total = 4 * SMALL_PROMPTS_PER_STYLE
    assert f"{total} / {total} images" in page.locator("#hps-progress-line").inner_text()
    page.locator("#submit-queue").get_by_text("<b>Browser</b> model").first.wait_for(
        state="attached"
    )  # shown as typed: text, not HTML
    links = page.locator(".hps-done-links a")
    assert links.count() == 2
    shot(page, "submit")
    sid = int(re.search(r"#(\d+)", page.locator("#hps-progress-line").inner_text()).group(1))

    # 4. the finished job links to its model view; its row is on the leaderboard
    links.first.click()
    page.locator("#model-view h2").get_by_text("<b>Browser</b> model").wait_for()
    open_view(page, url, "?verified=1&q=Browser")
    row = page.locator("#hps-lb tr", has=page.get_by_role("link", name="<b>Browser</b> model"))
    assert texts.CUSTOM_PROMPTS_BADGE in row.inner_text()  # scored on the small prompt set
    assert page.locator("#hps-lb b", has_text="Browser").count() == 0  # no HTML injected
    with page.expect_download() as download:
        page.get_by_role("button", name=texts.BUTTON_CSV).click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,model,version,kind")
    assert len(lines) == 2 and "<b>Browser</b> model,v2.1,verified" in lines[1]

    # 5. admin: hide (the leaderboard follows without a reload), then delete with confirmation
    page.get_by_role("tab", name=texts.TAB_SUBMIT).click()
    page.get_by_text(texts.ADMIN_TITLE, exact=True).click()
    page.get_by_label(texts.LABEL_ADMIN_TOKEN).fill(TOKEN)
    page.get_by_label(texts.LABEL_ADMIN_ID, exact=True).fill(str(sid))
    page.get_by_role("button", name=texts.BUTTON_HIDE, exact=True).click()
    page.locator("#admin-queue").get_by_text("done" + texts.HIDDEN_MARK).first.wait_for(
        state="attached"
    )
    page.get_by_role("tab", name=texts.TAB_LEADERBOARD).click()
    page.locator("#hps-lb .hps-empty").wait_for()  # the only matching row is hidden now
    page.get_by_role("tab", name=texts.TAB_SUBMIT).click()
    page.get_by_role("button", name=texts.BUTTON_DELETE, exact=True).click()
    page.locator("#admin-confirm").get_by_text(f"Delete submission #{sid}").wait_for()
    shot(page, "admin-confirm", full_page=False)
    page.locator("#admin-confirm-delete").click()
    page.locator("#admin-result textarea").wait_for()
    page.wait_for_function(
        "() => document.querySelector('#admin-result textarea').value.includes('delete')"
    )
    page.close()


def test_without_a_checkpoint_the_score_tab_says_so_in_plain_words(browser, tmp_path):
    from web.app import preload
    from web.settings import AppSettings

    demo = launch(AppSettings(data_dir=str(tmp_path / "data"), worker=False))
    try:
        preload(demo.hps_context.pool, "v2.1").join()  # as main() does at start
        page = new_page(browser)
        open_view(page, demo.local_url)  # browsing works
        page.get_by_role("tab", name=texts.TAB_SCORE).click()
        notice = page.get_by_text("Scoring is not available for HPS v2.1").first
        notice.wait_for()
        assert "HPS_" not in page.locator("body").inner_text()  # no environment variables
        shot(page, "no-checkpoint", full_page=False)
        page.get_by_role("tab", name=texts.TAB_ABOUT).click()
        page.get_by_role("heading", name="For operators").wait_for()
        assert "HPS_CHECKPOINT=" in page.locator("body").inner_text()  # the operator's hint
        page.close()
    finally:
        demo.close()
