"""Leaderboard rows -> the server-rendered HTML table and the CSV: pure functions, no Gradio.

The table's columns are one declarative list (:data:`COLUMNS`), each a header, a cell
renderer, a sort key and whether a phone shows it; styles come from
:data:`scorer.protocol.STYLES`. A column added to the list (or derived from a new field of
the row records) appears in the table, its sorting and its phone layout at once. Every
piece of user text (model names, links) is HTML-escaped here; nothing else renders it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from leaderboard import KIND_VERIFIED
from leaderboard.export import to_csv
from scorer.protocol import STYLES

from . import texts
from .urlstate import ViewState, to_query

AVERAGED = "Averaged"
REPRODUCTION = "reproduction"
DIGITS = 2


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.{DIGITS}f}"


def mean_std(stats) -> str:
    """Plain text "mean ± std" (std only where one exists), fixed decimals."""
    if stats is None or stats.mean is None:
        return ""
    if stats.std is None:
        return number(stats.mean)
    return f"{number(stats.mean)} ± {number(stats.std)}"


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def filter_rows(rows: Sequence, *, search: str = "", verified_only: bool = False) -> list:
    """Rows whose model name contains ``search`` (case-insensitive), optionally verified."""
    needle = (search or "").strip().casefold()
    return [
        r
        for r in rows
        if (not needle or needle in r.model.casefold())
        and (not verified_only or r.kind == KIND_VERIFIED)
    ]


def model_link(row, default_version: str) -> str:
    """The query string of the row's model view."""
    choice = f"v:{row.submission_id}" if row.kind == KIND_VERIFIED else f"r:{row.model}"
    state = ViewState(tab="model", version=row.version, model=choice)
    return "?" + to_query(state, default_version=default_version)


# --- cells (HTML, escaped) ----------------------------------------------------------------
def _rank_cell(row) -> str:
    if row.rank is None:
        return f'<span class="hps-muted" title="{esc(texts.TIP_UNRANKED)}">–</span>'
    out = f'<span class="hps-rank">{row.rank}</span>'
    if row.rank_low is not None:
        ci = texts.RANK_CI.format(low=row.rank_low, high=row.rank_high)
        tie = f' <span class="hps-tie">{texts.TIED}</span>' if row.tied else ""
        out += f'<span class="hps-ci" title="{esc(texts.TIP_RANK_CI)}">{ci}{tie}</span>'
    elif row.kind != KIND_VERIFIED:
        out += f'<span class="hps-ci hps-muted" title="{esc(texts.TIP_NO_CI)}">{texts.NO_CI}</span>'
    return out


def _model_cell(row, default_version: str) -> str:
    name = esc(row.model)
    out = f'<a class="hps-model" href="{esc(model_link(row, default_version))}">{name}</a>'
    badges = []
    if row.kind == KIND_VERIFIED:
        badges.append(f'<span class="hps-badge hps-verified">{texts.BADGE[KIND_VERIFIED]}</span>')
    else:
        badges.append(f'<span class="hps-badge hps-reported">{texts.BADGE[row.kind]}</span>')
    if row.partial:
        badges.append(f'<span class="hps-badge">{texts.PARTIAL_BADGE}</span>')
    if row.kind == KIND_VERIFIED and not row.official_prompts:
        badges.append(f'<span class="hps-badge hps-custom">{texts.CUSTOM_PROMPTS_BADGE}</span>')
    return out + " " + "".join(badges)


def _source_cell(row) -> str:
    if row.kind != KIND_VERIFIED:
        tip = esc(texts.TIP_REPORTED_SOURCE)
        return f'<span class="hps-muted" title="{tip}">{texts.REPORTED_SOURCE}</span>'
    return esc(_date(row.created_at))


@dataclass(frozen=True)
class Column:
    key: str  # sort key and URL value
    header: str
    cell: Callable[..., str]  # (row, default_version) -> HTML
    sort: Callable  # row -> ascending key (best first)
    numeric: bool = False
    phone: bool = False  # shown on a 390 px screen
    tip: str = ""
    optional: bool = False  # left out when no row shown has a value in it


def _score_sort(value: float | None):
    return (value is None, -(value or 0.0))


def _style_column(style: str) -> Column:
    def cell(row, _):
        return esc(mean_std(row.styles.get(style)))

    def sort(row):
        return _score_sort(getattr(row.styles.get(style), "mean", None))

    return Column(style, style, cell, sort, numeric=True)


COLUMNS: tuple[Column, ...] = (
    Column(
        "rank", texts.COL_RANK, lambda r, _: _rank_cell(r),
        lambda r: (r.rank is None, r.rank or 0, -(r.averaged or 0)),
        numeric=True, phone=True, tip=texts.TIP_RANK_CI,
    ),
    Column(
        "model", texts.COL_MODEL, _model_cell, lambda r: (0, r.model.casefold()), phone=True
    ),
    *(_style_column(style) for style in STYLES),
    Column(
        AVERAGED, AVERAGED, lambda r, _: f"<b>{esc(number(r.averaged))}</b>",
        lambda r: _score_sort(r.averaged), numeric=True, phone=True,
    ),
    Column("images", texts.COL_IMAGES, lambda r, _: str(r.n_images), lambda r: (0, -r.n_images),
           numeric=True),
    Column(
        REPRODUCTION, texts.COL_REPRODUCTION, lambda r, _: esc(reproduction_cell(r)),
        lambda r: (r.reproduction is None, not (r.reproduction and r.reproduction.reproduced)),
        optional=True,
    ),
    Column(
        "date", texts.COL_DATE, lambda r, _: _source_cell(r),
        lambda r: (r.created_at is None, -(r.created_at.timestamp() if r.created_at else 0)),
    ),
)  # fmt: skip
SORT_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
_BY_KEY = {c.key: c for c in COLUMNS}


def sort_rows(rows: Sequence, key: str = "rank") -> list:
    """Best first for scores, newest first for dates, A-Z for names; missing values last."""
    column = _BY_KEY.get(key, _BY_KEY["rank"])
    return sorted(rows, key=column.sort)


def _th(column: Column, sort: str) -> str:
    classes = ["hps-num" if column.numeric else "hps-text"]
    if not column.phone:
        classes.append("hps-wide")
    active = column.key == sort
    aria = ' aria-sort="descending"' if active else ""
    arrow = ' <span aria-hidden="true">▾</span>' if active else ""
    title = f' title="{esc(column.tip)}"' if column.tip else ""
    return (
        f'<th class="{" ".join(classes)}"{aria}{title}>'
        f'<button type="button" class="hps-sort" data-sort="{esc(column.key)}">'
        f"{esc(column.header)}{arrow}</button></th>"
    )


def leaderboard_html(
    rows: Sequence,
    *,
    sort: str = "rank",
    default_version: str,
    empty: str = "",
    table_id: str = "hps-lb",
) -> str:
    """The table: sticky header, sortable headers, links to each model's view; ``empty``:
    the message shown in place of rows when none match."""
    rendered = [(row, {c.key: c.cell(row, default_version) for c in COLUMNS})
                for row in sort_rows(rows, sort)]  # fmt: skip
    columns = [c for c in COLUMNS if not c.optional or any(cells[c.key] for _, cells in rendered)]
    head = "".join(_th(c, sort) for c in columns)
    body = []
    for row, values in rendered:
        cells = []
        for c in columns:
            classes = ["hps-num" if c.numeric else "hps-text", f"hps-col-{c.key}"]
            if not c.phone:
                classes.append("hps-wide")
            cells.append(f'<td class="{" ".join(classes)}">{values[c.key]}</td>')
        kind = "hps-row-" + ("verified" if row.kind == KIND_VERIFIED else "reported")
        body.append(f'<tr class="{kind}">{"".join(cells)}</tr>')
    if not body:
        message = empty or texts.LB_EMPTY
        body.append(f'<tr><td class="hps-empty" colspan="{len(columns)}">{message}</td></tr>')
    return (
        f'<table class="hps-table" id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def reproduction_cell(row) -> str:
    """For a published row and its verified twin: the mark and verified − reported per style
    and Averaged (the other side's values are on its twin's line); empty otherwise."""
    rep = row.reproduction
    if rep is None:
        return ""
    diffs = ", ".join(
        texts.REPRO_DIFF.format(
            column=AVERAGED if column == "averaged" else column,
            diff="–" if diff is None else f"{diff:+.2f}",
        )
        for column, diff in rep.difference.items()
    )
    mark = texts.REPRODUCED if rep.reproduced else texts.NOT_REPRODUCED
    return texts.REPRO_CELL.format(mark=mark, diffs=diffs)


def leaderboard_csv(rows: Sequence) -> str:
    """The download: the same CSV as ``python -m leaderboard export --format csv``."""
    return to_csv(rows)


def frame_html(
    frame,
    *,
    numeric: Sequence[str] = (),
    caption: str = "",
    elem_id: str = "",
    decimals: dict[str, int] | None = None,
    long: Sequence[str] = ("prompt",),
) -> str:
    """A small DataFrame as a plain HTML table (cells escaped; ``numeric`` right-aligned;
    ``decimals``: column -> fixed number of decimals of its numbers)."""
    decimals = decimals or {}

    def kind(column) -> str:
        return (
            "hps-num" if column in numeric else "hps-text" + (" hps-long" if column in long else "")
        )

    def cell(column, value):
        if column in decimals and isinstance(value, float):
            return f"{value:.{decimals[column]}f}"
        return value

    if frame is None:
        return ""
    cols = list(frame.columns)
    head = "".join(f'<th class="{kind(c)}">{esc(c)}</th>' for c in cols)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{kind(c)}">{esc(cell(c, v))}</td>' for c, v in zip(cols, values))
        + "</tr>"
        for values in frame.itertuples(index=False)
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    ident = f' id="{esc(elem_id)}"' if elem_id else ""
    return (
        f'<div class="hps-wrap hps-scroll"><table class="hps-table hps-small"{ident}>{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
