"""Leaderboard tab: version switch, search and filters, the server-rendered table (sortable
by its headers, each row linking to its model view), CSV, plots; and ``/leaderboard``.

The table comes first and alone (one cheap request: rows from the store, rank intervals from
its per-version cache); the CSV and the figures follow in a second step that never holds the
table back.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from leaderboard import KIND_VERIFIED
from leaderboard.stats import AVERAGED_KEY
from scorer.protocol import STYLES
from scorer.settings import VERSIONS
from scorer.zoo import get_version

from . import figures, tables, texts
from .context import AppContext
from .errors import user_errors
from .urlstate import ViewState

MAX_DISTRIBUTION_MODELS = 8

# Header clicks: remember the column, then fire the table's own "click" event (Gradio's
# documented js_on_load API); the event's js step hands the column to the server.
TABLE_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-sort]');
  if (!button) return;
  window.hpsClickedSort = button.dataset.sort;
  trigger('click');
});
"""
SORT_FROM_CLICK_JS = "(...args) => { args[4] = window.hpsClickedSort || args[4]; return args; }"
PUSH_URL_JS = """(version, q, verified, partial, sort) => {
  hpsSetParams({version: version === 'DEFAULT' ? '' : version, q: q, verified: verified,
                partial: partial, sort: sort === 'rank' ? '' : sort});
}"""


def query_rows(ctx: AppContext, version: str, search: str, verified_only: bool, partial: bool):
    rows = ctx.store.leaderboard(version, include_partial=partial, verified_only=verified_only)
    return tables.filter_rows(rows, search=search, verified_only=verified_only)


def verified_scores(ctx: AppContext, rows: Sequence, limit: int = MAX_DISTRIBUTION_MODELS):
    """{submission id: (label, per-style scores)} of the first ``limit`` verified rows."""
    out = {}
    for row in rows:
        if row.kind != KIND_VERIFIED or row.submission_id is None:
            continue
        label = f"{row.model} (#{row.submission_id})"
        out[row.submission_id] = (label, ctx.store.image_scores(row.submission_id))
        if len(out) >= limit:
            break
    return out


def series_intervals(row) -> dict:
    """The figure's series (styles and Averaged) -> the row's 95% interval of the mean."""
    ci = row.mean_ci or {}
    return {**{s: ci.get(s) for s in STYLES}, figures.AVERAGED: ci.get(AVERAGED_KEY)}


def prune_exports(export_dir: Path, max_age_s: float, now: float | None = None) -> int:
    """Remove exported files older than ``max_age_s`` (a download link lives that long);
    returns how many were removed."""
    cutoff = (time.time() if now is None else now) - max_age_s
    removed = 0
    for file in export_dir.glob("hps-leaderboard-*"):
        try:
            if file.stat().st_mtime < cutoff:
                file.unlink()
                removed += 1
        except OSError:  # removed meanwhile by another request
            pass
    return removed


def write_csv(export_dir: Path, version: str, rows: Sequence, *, max_age_s: float = 3600.0) -> str:
    """The CSV of ``rows`` in ``export_dir``, named by version and content (race-free);
    older exports are pruned first, so the folder stays bounded."""
    prune_exports(export_dir, max_age_s)
    text = tables.leaderboard_csv(rows)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = export_dir / f"hps-leaderboard-{version}-{digest}.csv"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    else:
        os.utime(path)  # served again: its link lives on
    return str(path)


def table_html(
    ctx: AppContext,
    version: str,
    search: str = "",
    verified_only: bool = False,
    partial: bool = False,
    sort: str = "rank",
    *,
    table_id: str = "hps-lb",
) -> str:
    """The count line and the table, or the "no model matches" state."""
    every = ctx.store.leaderboard(version, include_partial=partial)
    rows = tables.filter_rows(every, search=search, verified_only=verified_only)
    empty = ""
    if not rows and every:
        filters = texts.LB_NO_MATCH_FILTERS if verified_only else ""
        empty = texts.LB_NO_MATCH.format(q=tables.esc(search or ""), filters=filters)
    column = next(
        c for c in tables.COLUMNS if c.key == (sort if sort in tables.SORT_KEYS else "rank")
    )
    count = texts.LB_COUNT.format(
        shown=len(rows), total=len(every), version=version, sort=tables.esc(column.header)
    )
    table = tables.leaderboard_html(
        rows, sort=column.key, default_version=ctx.settings.version, empty=empty,
        table_id=table_id,
    )  # fmt: skip
    return f'<p class="hps-count" id="hps-lb-count">{count}</p><div class="hps-wrap">{table}</div>'


def figures_view(
    ctx: AppContext,
    version: str,
    search: str = "",
    verified_only: bool = False,
    partial: bool = False,
):
    """(CSV path, forest plot, distribution figure) of the rows the table shows."""
    rows = query_rows(ctx, version, search, verified_only, partial)
    scores = verified_scores(ctx, rows)
    intervals = {r.submission_id: series_intervals(r) for r in rows if r.mean_ci}
    return (
        write_csv(ctx.export_dir, version, rows, max_age_s=ctx.settings.export_max_age_s),
        figures.dot_plot(rows, version, intervals),
        figures.score_distributions(dict(scores.values()), version),
    )


@dataclass
class LeaderboardTab:
    version: gr.Radio
    search: gr.Textbox
    verified: gr.Checkbox
    partial: gr.Checkbox
    sort: gr.Textbox
    filters: gr.Accordion
    table: gr.HTML
    csv: gr.DownloadButton
    dots: gr.Plot
    dist: gr.Plot
    show_table: object = None  # the callbacks, for other tabs that change the rows (admin)
    show_figures: object = None

    @property
    def inputs(self) -> list:
        return [self.version, self.search, self.verified, self.partial, self.sort]

    @property
    def figure_outputs(self) -> list:
        return [self.csv, self.dots, self.dist]

    @staticmethod
    def render_table(ctx: AppContext, state: ViewState, **kw) -> str:
        return table_html(ctx, state.version, state.q, state.verified, state.partial, state.sort,
                          **kw)  # fmt: skip

    def restore(self, ctx: AppContext, state: ViewState) -> list:
        """Updates for ``[version, search, verified, partial, sort, filters, table]``."""
        html = self.render_table(ctx, state)
        return [state.version, state.q, state.verified, state.partial, state.sort,
                gr.Accordion(open=True) if state.q or state.verified or state.partial
                else gr.skip(),
                html]  # fmt: skip

    @property
    def restore_outputs(self) -> list:
        return [*self.inputs, self.filters, self.table]


def build_leaderboard_tab(ctx: AppContext, demo: gr.Blocks) -> LeaderboardTab:
    gr.Markdown(texts.LB_INTRO, elem_classes=["hps-intro", "hps-lb-intro"])
    with gr.Row():
        version = gr.Radio(
            list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION,
            elem_id="lb-version", scale=1, min_width=300,
        )  # fmt: skip
        filters = gr.Accordion(texts.LABEL_FILTERS, open=False, elem_id="lb-filters")
        with filters, gr.Row(elem_id="lb-filter-row"):
            search = gr.Textbox(
                    label=texts.LABEL_SEARCH, placeholder=texts.PLACEHOLDER_SEARCH,
                    elem_id="lb-search", scale=2, min_width=200,
                )  # fmt: skip
            verified = gr.Checkbox(False, label=texts.LABEL_VERIFIED_ONLY, elem_id="lb-verified",
                                   min_width=160)  # fmt: skip
            partial = gr.Checkbox(False, label=texts.LABEL_SHOW_PARTIAL, elem_id="lb-partial",
                                  min_width=200)  # fmt: skip
    sort = gr.Textbox("rank", visible=False)
    table = gr.HTML(
        tables.leaderboard_html([], default_version=ctx.settings.version, empty="…"),
        elem_id="leaderboard-table",
        js_on_load=TABLE_JS,
    )
    csv = gr.DownloadButton(texts.BUTTON_CSV, size="sm", elem_id="lb-csv")
    dots = gr.Plot(label=texts.LABEL_DOTS, elem_id="lb-dots")
    dist = gr.Plot(label=texts.LABEL_DISTRIBUTION, elem_id="lb-dist")
    tab = LeaderboardTab(version, search, verified, partial, sort, filters, table, csv, dots, dist)

    show_table = user_errors(lambda *a: table_html(ctx, *a))
    show_figures = user_errors(lambda v, q, ve, pa, _sort: figures_view(ctx, v, q, ve, pa))

    @user_errors
    def sort_table(*args):
        return args[4], table_html(ctx, *args)

    def wire(event, fn=show_table, outputs=(table,), js=None, **kw):
        step = event(fn, tab.inputs, list(outputs), js=js,
                     show_progress="hidden", api_visibility="private", **kw)  # fmt: skip
        push = PUSH_URL_JS.replace("DEFAULT", ctx.settings.version)
        step.then(None, tab.inputs, None, js=push, api_visibility="private")
        return step.then(show_figures, tab.inputs, tab.figure_outputs, api_visibility="private")

    for control in (version, verified, partial):
        wire(control.input)
    wire(search.input, trigger_mode="always_last")
    wire(table.click, sort_table, (sort, table), js=SORT_FROM_CLICK_JS)
    tab.show_table, tab.show_figures = show_table, show_figures

    @user_errors
    def leaderboard(
        version: str = ctx.settings.version,
        include_partial: bool = False,
        verified_only: bool = False,
    ) -> list[dict]:
        """Leaderboard rows of one HPS version, best first: model, kind, partial, per-style
        mean/std/n, averaged, rank (global in the version) with its 95% interval,
        submission_id, date."""
        get_version(version)
        rows = ctx.store.leaderboard(
            version, include_partial=include_partial, verified_only=verified_only
        )
        return [api_row(r) for r in rows]

    gr.api(leaderboard, api_name="leaderboard")
    return tab


def api_row(row) -> dict:
    out = row.as_dict()
    out["submission_id"] = row.submission_id
    out["n_images"] = row.n_images
    out["date"] = row.created_at.isoformat() if row.created_at else None
    return out
