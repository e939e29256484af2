"""Leaderboard rows -> display tables and CSV: pure functions, no Gradio.

The columns derive from :data:`scorer.protocol.STYLES`; every cell is plain text or a
number (never Markdown or HTML), so user-provided model names are shown as typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from leaderboard import KIND_VERIFIED
from leaderboard.export import to_csv
from scorer.protocol import STYLES

from . import texts

AVERAGED = "Averaged"
REPRODUCTION = "reproduction"
ALL_COLUMNS: tuple[str, ...] = (
    "rank",
    "model",
    *STYLES,
    AVERAGED,
    "images",
    "kind",
    REPRODUCTION,
    "date",
)
DEFAULT_COLUMNS: tuple[str, ...] = ALL_COLUMNS
SORT_KEYS: tuple[str, ...] = ("rank", AVERAGED, *STYLES, "model", "images", "date")
COLUMN_TYPES = {"rank": "number", "images": "number"}


def mean_std(stats) -> str:
    if stats is None or stats.mean is None:
        return ""
    if stats.std is None:
        return f"{stats.mean:.2f}"
    return f"{stats.mean:.2f} ± {stats.std:.2f}"


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


def _sort_key(row, key: str):
    """Ascending key; missing values last whichever way."""
    if key == "model":
        return (0, row.model.casefold())
    if key == "date":
        return (row.created_at is None, -(row.created_at.timestamp() if row.created_at else 0))
    if key == "images":
        return (0, -row.n_images)
    if key == "rank":
        return (row.rank is None, row.rank or 0, -(row.averaged or 0))
    value = row.averaged if key == AVERAGED else getattr(row.styles.get(key), "mean", None)
    return (value is None, -(value or 0.0))


def sort_rows(rows: Sequence, key: str = "rank") -> list:
    """Best first for scores, newest first for dates, A-Z for names."""
    if key not in SORT_KEYS:
        key = "rank"
    return sorted(rows, key=lambda r: _sort_key(r, key))


def display_cells(row) -> dict[str, object]:
    model = row.model + (texts.PARTIAL_MARK if row.partial else "")
    cells: dict[str, object] = {"rank": row.rank if row.rank is not None else "", "model": model}
    for style in STYLES:
        cells[style] = mean_std(row.styles.get(style))
    cells[AVERAGED] = f"{row.averaged:.2f}" if row.averaged is not None else ""
    cells["images"] = row.n_images
    cells["kind"] = texts.BADGE.get(row.kind, row.kind) + (
        "" if row.official_prompts else texts.CUSTOM_PROMPTS_MARK
    )
    cells[REPRODUCTION] = reproduction_cell(row)
    cells["date"] = _date(row.created_at)
    return cells


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


def leaderboard_frame(
    rows: Sequence, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """(table, Dataframe datatypes) for the chosen columns, in :data:`ALL_COLUMNS` order."""
    chosen = [c for c in ALL_COLUMNS if c in (columns or DEFAULT_COLUMNS)] or ["model"]
    data = [[display_cells(r)[c] for c in chosen] for r in rows]
    return pd.DataFrame(data, columns=chosen), [COLUMN_TYPES.get(c, "str") for c in chosen]


def leaderboard_csv(rows: Sequence) -> str:
    """The download: the same CSV as ``python -m leaderboard export --format csv``."""
    return to_csv(rows)
