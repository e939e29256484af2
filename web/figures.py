"""Plotly figures of leaderboard rows: pure functions (rows in, ``go.Figure`` out)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from scorer.protocol import STYLES

from . import texts

MAX_BARS_MODELS = 12


def plot_text(text: str) -> str:
    """User text for a Plotly label: Plotly renders a subset of HTML, so escape it."""
    return html.escape(text, quote=False)


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        annotations=[dict(text=texts.FIG_NO_DATA, showarrow=False, x=0.5, y=0.5)],
        xaxis_visible=False,
        yaxis_visible=False,
    )
    return fig


def style_bars(rows: Sequence, version: str, limit: int = MAX_BARS_MODELS) -> go.Figure:
    """Grouped bars: x = style, one bar per model (first ``limit`` rows), error bars = std."""
    title = texts.FIG_BARS_TITLE.format(version=version)
    shown = [r for r in rows if any(st and st.mean is not None for st in r.styles.values())]
    shown = shown[:limit]
    if not shown:
        return _empty(title)
    fig = go.Figure()
    for row in shown:
        stats = [row.styles.get(s) for s in STYLES]
        means = [st.mean if st else None for st in stats]
        stds = [st.std if st and st.std is not None else 0.0 for st in stats]
        fig.add_trace(
            go.Bar(
                name=plot_text(row.model + (texts.PARTIAL_MARK if row.partial else "")),
                x=list(STYLES),
                y=means,
                error_y=dict(type="data", array=stds, visible=True),
            )
        )
    lows = [st.mean - (st.std or 0) for r in shown for st in r.styles.values() if st and st.mean]
    highs = [st.mean + (st.std or 0) for r in shown for st in r.styles.values() if st and st.mean]
    pad = max(0.5, (max(highs) - min(lows)) * 0.15)
    fig.update_layout(
        title=title,
        barmode="group",
        yaxis=dict(title=texts.AXIS_SCORE, range=[min(lows) - pad, max(highs) + pad]),
        xaxis_title=texts.AXIS_STYLE,
        legend=dict(orientation="h", y=-0.25),
        margin=dict(t=50, b=10),
    )
    return fig


def score_distributions(
    scores: Mapping[str, Mapping[str, Sequence[float | None]]], version: str
) -> go.Figure:
    """Box plots of per-image scores: x = style, one box per model (verified rows)."""
    title = texts.FIG_DIST_TITLE.format(version=version)
    if not scores:
        return _empty(title)
    fig = go.Figure()
    for model, by_style in scores.items():
        xs: list[str] = []
        ys: list[float] = []
        for style in STYLES:
            values = [v for v in by_style.get(style, []) if v is not None]
            xs += [style] * len(values)
            ys += values
        fig.add_trace(go.Box(name=plot_text(model), x=xs, y=ys, boxmean=True))
    fig.update_layout(
        title=title,
        boxmode="group",
        yaxis_title=texts.AXIS_SCORE,
        xaxis_title=texts.AXIS_STYLE,
        legend=dict(orientation="h", y=-0.25),
        margin=dict(t=50, b=10),
    )
    return fig
