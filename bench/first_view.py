"""Time to the first view of the leaderboard in Chromium, on a loopback server.

    .venv/bin/python bench/first_view.py --repeats 5

Builds a store with 50 rows in v2.1 (the 22 published rows, 20 extra reported rows and 8
verified models of 800 synthetic scores per style, written through the real job path), starts
the app on 127.0.0.1, and opens the page in headless Debian Chromium (Playwright) in a fresh
browser context each time. Per load it reports, from navigation start: the page shell
(``domcontentloaded``), the filled table (first ranked row in the DOM: the copy in the first
response), the Gradio app's own table, and both plots drawn.
The first load is cold (the store computes the rank intervals once per version); the others
reuse them. Prints one JSON object per load and the medians of the warm loads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.board_data import add_reported, add_verified  # noqa: E402
from leaderboard import Store  # noqa: E402
from scorer.protocol import PROMPTS_PER_STYLE, STYLES  # noqa: E402
from web import create_app, launch_kwargs  # noqa: E402
from web.settings import AppSettings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TABLE = "#hps-first-lb tbody tr .hps-rank, #hps-lb tbody tr .hps-rank"
APP_TABLE = "#hps-lb tbody tr .hps-rank"
PLOTS = "#lb-dots .js-plotly-plot, #lb-dist .js-plotly-plot"


def build(data_dir: Path, verified: int, extra_reported: int, port: int):
    prompts = {s: [f"{s} prompt {i}" for i in range(PROMPTS_PER_STYLE)] for s in STYLES}
    prompts_file = data_dir / "prompts.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    prompts_file.write_text(json.dumps(prompts), encoding="utf-8")
    settings = AppSettings(data_dir=str(data_dir / "data"), worker=False, port=port,
                           prompts=str(prompts_file))  # fmt: skip
    store = Store.open(settings)
    add_reported(store, extra_reported)
    for k in range(verified):
        add_verified(store, prompts, f"Verified model {k}", centre=27.0 + 0.1 * k, seed=k)
    rows = len(store.leaderboard(settings.version))
    demo = create_app(settings, store=store)
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(settings, demo))
    return demo, rows


# Records, in the page's own clock (ms from navigation start), when each selector first
# matches: a MutationObserver sees the element when it is inserted, however busy the page is.
OBSERVE = (
    """
window.hpsSeen = {};
const watch = {table: 'TABLE', app_table: 'APP_TABLE', plots: null};
const check = () => {
  const now = performance.now();
  for (const [key, sel] of Object.entries(watch)) {
    if (window.hpsSeen[key] !== undefined) continue;
    const hit = sel ? document.querySelector(sel)
      : document.querySelectorAll('PLOTS').length >= 2;
    if (hit) window.hpsSeen[key] = now;
  }
};
new MutationObserver(check).observe(document, {childList: true, subtree: true});
""".replace("APP_TABLE", APP_TABLE)
    .replace("TABLE", TABLE)
    .replace("PLOTS", PLOTS)
)


def load_once(browser, url: str, width: int) -> dict:
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(OBSERVE)
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("window.hpsSeen && window.hpsSeen.plots !== undefined",
                           timeout=120_000)  # fmt: skip
    seen = page.evaluate("window.hpsSeen")
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " const p = performance.getEntriesByName('first-contentful-paint')[0];"
        " return {shell: n.domContentLoadedEventEnd, fcp: p ? p.startTime : null}; })()"
    )
    rows = page.locator("#hps-lb tbody tr").count()
    context.close()
    ms = lambda v: None if v is None else round(v / 1000, 3)  # noqa: E731
    return {"width": width, "shell_s": ms(timing["shell"]), "first_paint_s": ms(timing["fcp"]),
            "table_s": ms(seen["table"]), "app_table_s": ms(seen["app_table"]),
            "plots_s": ms(seen["plots"]), "rows": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm loads per width")
    parser.add_argument("--verified", type=int, default=8)
    parser.add_argument("--extra-reported", type=int, default=20)
    parser.add_argument("--port", type=int, default=7991)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        demo, rows = build(Path(tmp), args.verified, args.extra_reported, args.port)
        print(json.dumps({"rows_in_version": rows, "verified": args.verified}))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                cold = load_once(browser, demo.local_url, 1400)
                print(json.dumps({"cold": True, **cold}))
                summary = {}
                for width in (1400, 390):
                    warm = [load_once(browser, demo.local_url, width) for _ in range(args.repeats)]
                    for w in warm:
                        print(json.dumps(w))
                    summary[width] = {
                        key: round(statistics.median(w[key] for w in warm), 3)
                        for key in (
                            "shell_s",
                            "first_paint_s",
                            "table_s",
                            "app_table_s",
                            "plots_s",
                        )  # fmt: skip
                    }
                browser.close()
            print(json.dumps({"median_warm": summary}))
        finally:
            demo.close()


if __name__ == "__main__":
    main()
