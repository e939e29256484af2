"""Plotly figures of leaderboard rows: pure functions (rows in, ``go.Figure`` out)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from leaderboard import KIND_VERIFIED
from leaderboard.stats import Interval
from scorer.protocol import STYLES

from . import texts

MAX_DOT_MODELS = 20
AVERAGED = "Averaged"
SERIES: tuple[str, ...] = (*STYLES, AVERAGED)
# Okabe-Ito colours (distinct for colour-blind readers) and a marker per series.
COLOURS = {
    "anime": "#E69F00",
    "concept-art": "#56B4E9",
    "paintings": "#009E73",
    "photo": "#CC79A7",
    AVERAGED: "#000000",
}
SYMBOLS = {"anime": "circle", "concept-art": "square", "paintings": "diamond",
           "photo": "triangle-up", AVERAGED: "star"}  # fmt: skip
# Vertical offset of each series inside a model's band, so markers do not hide each other.
OFFSETS = {"anime": -0.3, "concept-art": -0.15, AVERAGED: 0.0, "paintings": 0.15, "photo": 0.3}
LABEL_CHARS = 28
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12)


def plot_text(text: str) -> str:
    """User text for a Plotly label: Plotly renders a subset of HTML, so escape it."""
    return html.escape(text, quote=False)


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        annotations=[
            dict(text=texts.FIG_NO_DATA, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        ],
        xaxis_visible=False,
        yaxis_visible=False,
        height=220,
        font=FONT,
    )
    return fig


def _label(row) -> str:
    name = row.model if len(row.model) <= LABEL_CHARS else row.model[: LABEL_CHARS - 1] + "…"
    mark = " ✔" if row.kind == KIND_VERIFIED else ""
    return plot_text(f"#{row.rank} {name}{mark}")


def _mean(row, series: str) -> float | None:
    if series == AVERAGED:
        return row.averaged
    return getattr(row.styles.get(series), "mean", None)


def dot_plot(
    rows: Sequence,
    version: str,
    intervals: Mapping[int, Mapping[str, Interval | None]],
    limit: int = MAX_DOT_MODELS,
) -> go.Figure:
    """Forest plot: one band per model (ranked rows, in rank order, top to bottom), a
    marker per style and for Averaged; verified rows filled with their 95% interval
    (``intervals``: submission id -> series -> interval), reported rows open, without one.
    The x axis is a score axis, not a bar baseline: nothing is cut."""
    shown = [r for r in rows if r.rank is not None][:limit]
    title = texts.FIG_DOTS_TITLE.format(version=version, n=len(shown))
    if not shown:
        return _empty(title)
    fig = go.Figure()
    for series in SERIES:
        for verified in (True, False):
            xs, ys, lo, hi, names = [], [], [], [], []
            for pos, row in enumerate(shown):
                if (row.kind == KIND_VERIFIED) != verified or _mean(row, series) is None:
                    continue
                mean = _mean(row, series)
                ci = intervals.get(row.submission_id, {}).get(series) if verified else None
                xs.append(mean)
                ys.append(pos + OFFSETS[series])
                lo.append(mean - ci.low if ci else 0.0)
                hi.append(ci.high - mean if ci else 0.0)
                names.append(_label(row))
            if not xs:
                continue
            symbol = SYMBOLS[series] + ("" if verified else "-open")
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, mode="markers", name=series, legendgroup=series,
                    showlegend=verified or not any(r.kind == KIND_VERIFIED for r in shown),
                    marker=dict(symbol=symbol, color=COLOURS[series],
                                size=12 if series == AVERAGED else 8,
                                line=dict(width=1.5, color=COLOURS[series])),
                    error_x=dict(type="data", symmetric=False, array=hi, arrayminus=lo,
                                 visible=verified, thickness=1.2, width=3),
                    customdata=names,
                    hovertemplate="%{customdata}<br>" + series + ": %{x:.2f}<extra></extra>",
                )
            )  # fmt: skip
    for name, symbol in ((texts.FIG_DOTS_LEGEND_VERIFIED, "circle"),
                         (texts.FIG_DOTS_LEGEND_REPORTED, "circle-open")):  # fmt: skip
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(symbol=symbol, color="#555", size=9)))  # fmt: skip
    # Direct labels above each model's band (not tick labels): on a phone the plot keeps
    # its whole width for the scores.
    labels = [
        dict(text=_label(r), xref="paper", x=0, y=pos - 0.42, yref="y", xanchor="left",
             yanchor="bottom", showarrow=False, font=dict(size=11, color="#111"),
             bgcolor="rgba(255,255,255,0.75)")
        for pos, r in enumerate(shown)
    ]  # fmt: skip
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        height=170 + 46 * len(shown),
        xaxis=dict(title=texts.AXIS_SCORE, side="top", gridcolor="#e5e5e5", zeroline=False),
        yaxis=dict(
            tickvals=[pos + 0.5 for pos in range(len(shown))], showticklabels=False,
            range=[len(shown) - 0.5, -0.9], gridcolor="#eeeeee", zeroline=False,
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.01, x=0, xanchor="left"),
        annotations=labels,
        margin=dict(t=90, b=40, l=10, r=10),
        plot_bgcolor="white",
        font=FONT,
    )  # fmt: skip
    return fig


BOX_KEYS = ("q1", "median", "q3", "lowerfence", "upperfence", "mean")


def box_stats(values: Sequence[float | None]) -> dict[str, float] | None:
    """Quartiles, Tukey fences (furthest point within 1.5 IQR) and mean, as Plotly draws."""
    data = np.array([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return None
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    iqr = q3 - q1
    inside = data[(data >= q1 - 1.5 * iqr) & (data <= q3 + 1.5 * iqr)]
    return {"q1": float(q1), "median": float(median), "q3": float(q3),
            "lowerfence": float(inside.min()), "upperfence": float(inside.max()),
            "mean": float(data.mean())}  # fmt: skip


def score_distributions(
    scores: Mapping[str, Mapping[str, Sequence[float | None]]], version: str
) -> go.Figure:
    """Box plots of per-image scores: x = style, one box per model (verified rows). The
    legend sits above the plot, clear of both axis titles."""
    title = texts.FIG_DIST_TITLE.format(version=version)
    if not scores:
        return _empty(title)
    fig = go.Figure()
    for model, by_style in scores.items():
        stats = [box_stats(by_style.get(style, [])) for style in STYLES]
        shown = [(style, st) for style, st in zip(STYLES, stats) if st is not None]
        if not shown:
            continue
        # The box statistics are computed here: the browser draws 5 numbers per box
        # instead of sorting thousands of points.
        fig.add_trace(
            go.Box(
                name=plot_text(model), x=[s for s, _ in shown],
                **{key: [st[key] for _, st in shown] for key in BOX_KEYS},
            )
        )  # fmt: skip
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        boxmode="group",
        yaxis_title=texts.AXIS_SCORE,
        xaxis_title=texts.AXIS_STYLE,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
        margin=dict(t=100, b=40, l=10, r=10),
        height=460,
        plot_bgcolor="white",
        font=FONT,
    )
    return fig
