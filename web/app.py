"""The app factory and the server entry point.

``create_app(settings)`` builds the ``gr.Blocks``; nothing happens at import. ``main()`` reads
the environment (the only place, :func:`web.hosting.settings_from_env`), restores an empty
data dir from the backup repo, opens the store, starts the in-process worker when
``HPS_WORKER`` is on and the backup schedule when ``HPS_BACKUP_REPO`` is set, and launches on
``HPS_HOST:HPS_PORT`` (else the host's ``GRADIO_SERVER_NAME:GRADIO_SERVER_PORT``).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

import gradio as gr
from starlette.middleware import Middleware

from leaderboard import Store
from leaderboard.backup import Backup
from scorer.errors import HPSError
from scorer.gpu import zero_gpu
from scorer.pool import ScorerLoader, ScorerPool
from scorer.zoo import VERSIONS
from submissions import Worker

from . import texts
from .backups import BackupScheduler
from .context import AppContext
from .errors import user_errors
from .first_view import FirstView, first_view_html
from .hosting import Hosting, settings_from_env
from .leaderboard_tab import build_leaderboard_tab
from .model_tab import build_head_to_head_tab, build_model_tab
from .page import CSS, HEAD
from .reproduction_tab import build_reproduction_tab
from .score_tab import build_compare_tab, build_score_tab, scorer_status
from .settings import AppSettings
from .submit_tab import build_submit_tab
from .tables import SORT_KEYS
from .urlstate import parse_query

log = logging.getLogger(__name__)

# The URL's view is on screen: tab clicks may now write the URL; the first view has served.
RESTORED_JS = """() => {
  window.hpsRestored = true;
  const first = document.getElementById('hps-first-view');
  if (first) first.remove();
}"""

CACHE_SWEEP_S = 600  # most seconds between two sweeps of Gradio's file cache


def create_app(
    settings: AppSettings,
    *,
    scorer_loader: ScorerLoader | None = None,
    store: Store | None = None,
    pool: ScorerPool | None = None,
    hosting: Hosting | None = None,
    backup: Backup | None = None,
) -> gr.Blocks:
    """Build the web app. ``store``: a ``leaderboard.Store`` (opened from ``settings`` when
    omitted); ``scorer_loader``: settings -> HPSScorer (default: the real checkpoint loader);
    ``hosting`` and ``backup``: shown in the About tab and the admin view."""
    if store is None:
        store = Store.open(settings)
    ctx = AppContext(settings, pool or ScorerPool(settings, scorer_loader), store, hosting, backup)
    age = settings.cache_max_age_s
    with gr.Blocks(
        title=texts.TITLE,
        analytics_enabled=False,
        # Gradio deletes the files this app put in its cache (uploads, downloads) once they
        # are older than ``age``, and all of them when the server stops.
        delete_cache=(min(age, CACHE_SWEEP_S), age),
    ) as demo:
        gr.Markdown(texts.HEADER, elem_classes=["hps-intro"])
        with gr.Tabs(elem_id="hps-tabs") as tabs:
            with gr.Tab(texts.TAB_LEADERBOARD, id="leaderboard") as first:
                board = build_leaderboard_tab(ctx, demo)
            with gr.Tab(texts.TAB_MODEL, id="model") as model_tab:
                model = build_model_tab(ctx, demo)
            with gr.Tab(texts.TAB_HEAD_TO_HEAD, id="h2h") as h2h_tab:
                h2h = build_head_to_head_tab(ctx, demo)
            with gr.Tab(texts.TAB_SCORE, id="score") as score_tab:
                score_status = build_score_tab(ctx.pool)
            with gr.Tab(texts.TAB_COMPARE, id="compare") as compare_tab:
                compare_status = build_compare_tab(ctx.pool)
            with gr.Tab(texts.TAB_REPRODUCTION, id="reproduction") as reproduction_tab:
                build_reproduction_tab(ctx, demo)
            with gr.Tab(texts.TAB_SUBMIT, id="submit") as submit_tab:
                admin_events = build_submit_tab(ctx, demo)
            with gr.Tab(texts.TAB_ABOUT, id="about") as about_tab:
                if ctx.hosting is not None and ctx.hosting.notice:
                    gr.Markdown(f"**{texts.BACKUP_TITLE}.** {ctx.hosting.notice}")
                gr.Markdown(texts.ABOUT)
        for tab, tab_id in ((first, ""), (model_tab, "model"), (h2h_tab, "h2h"),
                            (score_tab, "score"), (compare_tab, "compare"),
                            (reproduction_tab, "reproduction"), (submit_tab, "submit"),
                            (about_tab, "about")):  # fmt: skip
            # before the URL's view is restored, a tab "selected" on mount must not touch it
            js = f"() => {{ if (window.hpsRestored) hpsSetParams({{tab: '{tab_id}'}}); }}"
            tab.select(None, None, None, js=js)

        def restore(request: gr.Request):
            """The view the URL asks for, table included: one response, no figures."""
            state = parse_query(
                dict(request.query_params), default_version=settings.version, sort_keys=SORT_KEYS
            )
            return [
                gr.Tabs(selected=state.tab),
                *board.restore(ctx, state),
                *model.restore(ctx, state),
                *h2h.restore(ctx, state),
            ]

        outputs = [tabs, *board.restore_outputs, *model.restore_outputs, *h2h.restore_outputs]
        restored = demo.load(
            user_errors(restore), None, outputs, show_progress="hidden",
            api_visibility="private",
        )  # fmt: skip
        restored.then(None, None, None, js=RESTORED_JS)
        for event in admin_events:  # a hide, unhide or delete shows in the table at once
            event.then(board.show_table, board.inputs, board.table, api_visibility="private")
        restored.then(board.show_figures, board.inputs, board.figure_outputs,
                      api_visibility="private")  # fmt: skip
        demo.load(
            lambda: (scorer_status(ctx.pool, settings.version),) * 2,
            None,
            [score_status, compare_status],
            api_visibility="private",
        )
    # Live requests default to 4 at a time; scoring events are limited to 1 (score_tab).
    # api_open=False: no event runs by a direct POST to /gradio_api/run/..., past the queue
    # and its concurrency limits; clients (the page, gradio_client) go through the queue.
    demo.queue(default_concurrency_limit=4, max_size=settings.queue_size, api_open=False)
    demo.hps_context = ctx  # for main() and tests: the pool, store and settings in use

    def first_view(params: dict[str, str]) -> str | None:
        state = parse_query(params, default_version=settings.version, sort_keys=SORT_KEYS)
        if state.tab != "leaderboard":
            return None
        table = board.render_table(ctx, state, table_id="hps-first-lb")
        return first_view_html(texts.TITLE, table)

    demo.hps_first_view = first_view
    return demo


def launch_kwargs(settings: AppSettings, demo: gr.Blocks | None = None) -> dict:
    """Arguments of ``Blocks.launch`` that follow from the settings; with ``demo`` (an app
    of :func:`create_app`), its page carries the leaderboard table in its first response."""
    kwargs = {
        "server_name": settings.host,
        "server_port": settings.port,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "css": CSS,
        "head": HEAD,
        "show_error": True,
    }
    if demo is not None:
        render = demo.hps_first_view
        kwargs["app_kwargs"] = {"middleware": [Middleware(FirstView, render=render)]}
    return kwargs


def start_worker(ctx: AppContext, on_job_done=None) -> tuple[threading.Thread, threading.Event]:
    """One in-process scoring worker thread; it claims one job at a time."""
    stop = threading.Event()
    worker = Worker(ctx.store, ctx.settings, ctx.pool, on_job_done=on_job_done)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="hps-worker", daemon=True
    )
    thread.start()
    return thread, stop


def preload(pool: ScorerPool, version: str) -> threading.Thread:
    """Load the default scorer in the background so the first request is fast; a failure
    is remembered and shown in the scoring tabs."""

    def run() -> None:
        try:
            pool.get(version)
        except Exception as exc:  # shown to users by scorer_status; logged here
            log.warning("scorer %s not available: %s", version, exc)

    thread = threading.Thread(target=run, name="hps-preload", daemon=True)
    thread.start()
    return thread


def load_before_launch(pool: ScorerPool) -> None:
    """ZeroGPU: a GPU call's process sees only the weights loaded before it started, so every
    version is loaded now, before launch (:mod:`scorer.gpu`); a failure is shown as usual."""
    for version in VERSIONS:
        try:
            pool.get(version)
        except HPSError as exc:
            log.warning("scorer %s not available: %s", version, exc)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        settings, hosting = settings_from_env()
        backup = Backup(settings)
        if backup.enabled:
            backup.restore_at_start()  # before anything is written; errors shown to the admin
        store = Store.open(settings)
    except HPSError as exc:  # a bad setting, an unwritable HPS_DATA_DIR: one line, status 2
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if hosting.notice:
        log.warning("%s", hosting.notice)
    log.info("data dir %s%s", settings.data_path, " (persistent)" * hosting.persistent)
    demo = create_app(settings, store=store, hosting=hosting, backup=backup)
    ctx = demo.hps_context
    stop = threading.Event()
    on_job_done = None
    if backup.enabled:
        scheduler = BackupScheduler(backup, settings.backup_interval_s)
        scheduler.start(stop)
        on_job_done = lambda sid: scheduler.request(f"job #{sid} done")  # noqa: E731
    if zero_gpu():
        load_before_launch(ctx.pool)
    else:
        preload(ctx.pool, settings.version)
    worker_stop = None
    if settings.worker:
        _, worker_stop = start_worker(ctx, on_job_done)
    # a host stops the app with SIGTERM (a Space restarting, a container stop): it ends the
    # server like Ctrl-C, so the cleanup below runs: the worker stops, a last backup is made,
    # the export folder goes and, through Gradio's lifespan, its file cache
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.launch(**launch_kwargs(settings, demo))
    finally:
        stop.set()
        if worker_stop is not None:
            worker_stop.set()
        if backup.enabled:
            backup.run("shutdown")
        ctx.close()
        store.close()
