"""Reproduction view: each published (reported) row of a version beside its verified twin,
the differences, and verified plotted against reported; the admin action that fetches and
queues the published models' archives (``submissions.reproduce``)."""

from __future__ import annotations

from collections.abc import Sequence

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from leaderboard.records import REPRODUCTION_COLUMNS, Reproduction
from scorer.settings import VERSIONS
from scorer.zoo import get_version
from submissions import published_models, queue_reproductions, select_models

from . import texts
from .admin import check_token
from .context import AppContext
from .errors import user_errors
from .figures import plot_text

COLUMN_LABELS = {c: ("Averaged" if c == "averaged" else c) for c in REPRODUCTION_COLUMNS}


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def pair_cell(rep: Reproduction, column: str) -> str:
    """``reported → verified (difference)`` of one column."""
    diff = rep.difference[column]
    return texts.PAIR_CELL.format(
        reported=_num(rep.reported[column], ".2f"),
        verified=_num(rep.verified[column], ".2f"),
        diff=_num(diff, "+.2f") if diff is not None else "–",
    )


def status_text(rep: Reproduction) -> str:
    if rep.reproduced:
        return texts.REPRODUCED
    worst = rep.worst
    where = texts.WORST.format(style=worst[0], diff=worst[1]) if worst else ""
    return texts.NOT_REPRODUCED + where


def reproduction_frame(pairs: Sequence[Reproduction]) -> pd.DataFrame:
    """One line per pair: model, per column ``reported → verified (difference)``, status."""
    rows = [
        [rep.model]
        + [pair_cell(rep, c) for c in REPRODUCTION_COLUMNS]
        + [status_text(rep), rep.submission_id]
        for rep in pairs
    ]
    columns = ["model", *COLUMN_LABELS.values(), "status", "submission"]
    return pd.DataFrame(rows, columns=columns)


def reproduction_figure(pairs: Sequence[Reproduction], version: str) -> go.Figure:
    """Verified against reported, one marker per model and column, with the line y = x."""
    title = texts.FIG_REPRO_TITLE.format(version=version)
    fig = go.Figure()
    values = []
    for column in REPRODUCTION_COLUMNS:
        points = [
            (rep.reported[column], rep.verified[column], rep.model)
            for rep in pairs
            if rep.reported[column] is not None and rep.verified[column] is not None
        ]
        if not points:
            continue
        xs, ys, names = zip(*points)
        values += [*xs, *ys]
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="markers",
                name=COLUMN_LABELS[column],
                text=[plot_text(n) for n in names],
                hovertemplate="%{text}<br>reported %{x:.2f}<br>verified %{y:.3f}<extra></extra>",
            )
        )
    if values:
        lo, hi = min(values), max(values)
        pad = max(0.1, (hi - lo) * 0.05)
        line = [lo - pad, hi + pad]
        fig.add_trace(
            go.Scatter(x=line, y=line, mode="lines", name="y = x", line=dict(dash="dash"))
        )
    else:
        fig.add_annotation(text=texts.FIG_NO_DATA, showarrow=False, x=0.5, y=0.5)
    fig.update_layout(
        title=title,
        xaxis_title=texts.AXIS_REPORTED,
        yaxis_title=texts.AXIS_VERIFIED,
        legend=dict(orientation="h", y=-0.25),
        margin=dict(t=50, b=10),
    )
    return fig


def reproduction_view(ctx: AppContext, version: str):
    """(summary, table, figure) of one version's pairs."""
    get_version(version)
    pairs = ctx.store.reproductions(version)
    summary = texts.REPRO_SUMMARY.format(
        pairs=len(pairs),
        published=len(published_models(version)),
        reproduced=sum(rep.reproduced for rep in pairs),
        version=version,
        within=ctx.settings.reproduced_within,
    )
    return summary, reproduction_frame(pairs), reproduction_figure(pairs, version)


def reproduce_action(
    ctx: AppContext, token: str | None, version: str, models: Sequence[str] | None
) -> str:
    """Admin: fetch and queue the archives of the chosen published models (all when none
    is chosen); the app's worker scores them."""
    check_token(ctx.settings, token)
    get_version(version)
    chosen = select_models(version, list(models or []))
    queued = queue_reproductions(
        ctx.store, ctx.settings, version=version, models=chosen, prompts=ctx.prompts()
    )
    lines = []
    for q in queued:
        if q.error:
            lines.append(texts.REPRO_REFUSED.format(model=q.model, error=q.error))
        else:
            state = texts.REPRO_DUPLICATE if q.result.duplicate else texts.REPRO_QUEUED
            lines.append(f"{q.model}: #{q.result.submission_id} {state}")
    return "\n".join(lines)


def build_reproduction_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    gr.Markdown(texts.REPRO_INTRO)
    version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION)
    summary = gr.Markdown(elem_id="repro-summary")
    table = gr.Dataframe(
        interactive=False, datatype="str", wrap=True, elem_id="repro-table", label=texts.REPRO_TABLE
    )
    plot = gr.Plot(label=texts.LABEL_REPRO_PLOT, elem_id="repro-plot")
    with gr.Accordion(texts.ADMIN_TITLE, open=False):
        gr.Markdown(texts.REPRO_ADMIN_INTRO)
        token = gr.Textbox(label=texts.LABEL_ADMIN_TOKEN, type="password")
        models = gr.Dropdown(
            published_models(ctx.settings.version),
            multiselect=True,
            label=texts.LABEL_REPRO_MODELS,
        )
        button = gr.Button(texts.BUTTON_REPRODUCE, size="sm")
        result = gr.Textbox(show_label=False, interactive=False, lines=4)

    @user_errors
    def on_version(version):
        return *reproduction_view(ctx, version), gr.Dropdown(
            choices=published_models(version), value=[]
        )

    outputs = [summary, table, plot, models]
    version.change(on_version, version, outputs, api_visibility="private")
    demo.load(on_version, version, outputs, api_visibility="private")
    button.click(
        user_errors(lambda t, v, m: reproduce_action(ctx, t, v, m)),
        [token, version, models],
        result,
        api_visibility="private",
        concurrency_id="intake",
        concurrency_limit=1,
    )
