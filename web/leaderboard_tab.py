"""Leaderboard tab: version switch, filters, sortable table, CSV, plots; and ``/leaderboard``."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from leaderboard import KIND_VERIFIED
from scorer.settings import VERSIONS
from scorer.zoo import get_version

from . import figures, tables, texts
from .context import AppContext
from .errors import user_errors

MAX_DISTRIBUTION_MODELS = 8


def query_rows(ctx: AppContext, version: str, search: str, verified_only: bool, partial: bool):
    rows = ctx.store.leaderboard(version, include_partial=partial, verified_only=verified_only)
    return tables.filter_rows(rows, search=search, verified_only=verified_only)


def verified_scores(ctx: AppContext, rows: Sequence, limit: int = MAX_DISTRIBUTION_MODELS):
    """{model label: per-style scores} of the first ``limit`` verified rows."""
    out = {}
    for row in rows:
        if row.kind != KIND_VERIFIED or row.submission_id is None:
            continue
        label = f"{row.model} (#{row.submission_id})"
        out[label] = ctx.store.image_scores(row.submission_id)
        if len(out) >= limit:
            break
    return out


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


def leaderboard_view(
    ctx: AppContext,
    version: str,
    search: str = "",
    verified_only: bool = False,
    partial: bool = False,
    columns: Sequence[str] | None = None,
    sort_by: str = "rank",
):
    """Everything the tab shows: table, CSV path, bar chart, distribution figure."""
    rows = tables.sort_rows(query_rows(ctx, version, search, verified_only, partial), sort_by)
    frame, types = tables.leaderboard_frame(rows, columns)
    return (
        gr.Dataframe(value=frame, datatype=types),
        write_csv(ctx.export_dir, version, rows, max_age_s=ctx.settings.export_max_age_s),
        figures.style_bars(rows, version),
        figures.score_distributions(verified_scores(ctx, rows), version),
    )


def build_leaderboard_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    gr.Markdown(texts.LB_INTRO)
    with gr.Row():
        version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION)
        search = gr.Textbox(label=texts.LABEL_SEARCH, placeholder=texts.PLACEHOLDER_SEARCH)
        sort_by = gr.Dropdown(list(tables.SORT_KEYS), value="rank", label=texts.LABEL_SORT)
    with gr.Row():
        verified_only = gr.Checkbox(False, label=texts.LABEL_VERIFIED_ONLY)
        partial = gr.Checkbox(False, label=texts.LABEL_SHOW_PARTIAL)
        columns = gr.CheckboxGroup(
            list(tables.ALL_COLUMNS), value=list(tables.DEFAULT_COLUMNS), label=texts.LABEL_COLUMNS
        )
    table = gr.Dataframe(
        label=texts.LABEL_TABLE,
        interactive=False,
        datatype="str",
        wrap=True,
        max_height=700,
        elem_id="leaderboard-table",
    )
    csv = gr.DownloadButton(texts.BUTTON_CSV)
    with gr.Row():
        bars = gr.Plot(label=texts.LABEL_BARS)
        dist = gr.Plot(label=texts.LABEL_DISTRIBUTION)

    @user_errors
    def on_change(version, search, verified_only, partial, columns, sort_by):
        return leaderboard_view(ctx, version, search, verified_only, partial, columns, sort_by)

    inputs = [version, search, verified_only, partial, columns, sort_by]
    outputs = [table, csv, bars, dist]
    for control in (version, verified_only, partial, columns, sort_by):
        control.change(on_change, inputs, outputs, api_visibility="private")
    search.submit(on_change, inputs, outputs, api_visibility="private")
    demo.load(on_change, inputs, outputs, api_visibility="private")

    @user_errors
    def leaderboard(
        version: str = ctx.settings.version,
        include_partial: bool = False,
        verified_only: bool = False,
    ) -> list[dict]:
        """Leaderboard rows of one HPS version, best first: model, kind, partial, per-style
        mean/std/n, averaged, rank, submission_id, date."""
        get_version(version)
        rows = ctx.store.leaderboard(
            version, include_partial=include_partial, verified_only=verified_only
        )
        return [api_row(r) for r in rows]

    gr.api(leaderboard, api_name="leaderboard")


def api_row(row) -> dict:
    out = row.as_dict()
    out["submission_id"] = row.submission_id
    out["n_images"] = row.n_images
    out["date"] = row.created_at.isoformat() if row.created_at else None
    return out
