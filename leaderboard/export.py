"""Leaderboard export as JSON or CSV, and reading an export back.

JSON: a list of rows ``{"model", "version", "kind", "partial", "styles": {style: {"mean",
"std", "n"}}, "averaged", "rank", "rank_ci", "tied", "official_prompts", "reproduction"}``
(``rank_ci``: the 95% bootstrap interval of a verified row's rank, ``[low, high]``, else
null), where ``reproduction`` is None or, for a published row and its verified twin,
``{"reported", "verified", "difference": {column: value}, "reproduced"}`` over the styles and
"averaged". CSV: one line per row, columns ``<style>_mean``, ``<style>_std``, ``<style>_n`` for
each style, plus images, link, organisation and date, then ``reported_<column>``,
``verified_<column>``, ``difference_<column>`` and ``reproduced`` (empty without a twin);
empty cells are None. The web app's download is this CSV too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from scorer.protocol import STYLES

from .records import REPRODUCTION_COLUMNS, LeaderboardRow

_PAIR_PARTS: tuple[str, ...] = ("reported", "verified", "difference")

CSV_COLUMNS: tuple[str, ...] = (
    "rank",
    "model",
    "version",
    "kind",
    "partial",
    *(f"{style}_{part}" for style in STYLES for part in ("mean", "std", "n")),
    "averaged",
    "official_prompts",
    "images",
    "link",
    "organisation",
    "date",
    *(f"{part}_{column}" for part in _PAIR_PARTS for column in REPRODUCTION_COLUMNS),
    "reproduced",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: str | None) -> str:
    """User text that a spreadsheet would run as a formula gets a leading quote."""
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _restore(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def to_json(rows: Sequence[LeaderboardRow]) -> str:
    return json.dumps([row.as_dict() for row in rows], indent=2)


def to_csv(rows: Sequence[LeaderboardRow]) -> str:
    """One line per row, numbers unformatted; user text defused against CSV injection."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        data = row.as_dict()
        line = {k: data[k] for k in ("rank", "version", "kind", "averaged")}
        line["model"] = _defuse(row.model)
        line["partial"] = "true" if row.partial else "false"
        line["official_prompts"] = "true" if row.official_prompts else "false"
        line["images"] = row.n_images
        line["link"] = _defuse(row.link)
        line["organisation"] = _defuse(row.organisation)
        line["date"] = row.created_at.isoformat() if row.created_at else None
        for style in STYLES:
            st = data["styles"].get(style) or {}
            for part in ("mean", "std", "n"):
                line[f"{style}_{part}"] = st.get(part)
        pair = data["reproduction"] or {}
        for part in _PAIR_PARTS:
            for column in REPRODUCTION_COLUMNS:
                line[f"{part}_{column}"] = (pair.get(part) or {}).get(column)
        line["reproduced"] = None if not pair else ("true" if pair["reproduced"] else "false")
        writer.writerow({k: ("" if v is None else v) for k, v in line.items()})
    return out.getvalue()


def from_csv(text: str) -> list[dict]:
    """An exported CSV back to the JSON export's row dicts."""

    def num(value: str, kind=float):
        return None if value == "" else kind(value)

    rows = []
    for line in csv.DictReader(io.StringIO(text)):
        styles = {}
        for style in STYLES:
            mean = num(line[f"{style}_mean"])
            styles[style] = (
                None
                if mean is None
                else {
                    "mean": mean,
                    "std": num(line[f"{style}_std"]),
                    "n": num(line[f"{style}_n"], int),
                }
            )
        rows.append(
            {
                "model": _restore(line["model"]),
                "version": line["version"],
                "kind": line["kind"],
                "partial": line["partial"] == "true",
                "styles": styles,
                "averaged": num(line["averaged"]),
                "rank": num(line["rank"], int),
                "official_prompts": line["official_prompts"] == "true",
                "reproduction": None
                if not line.get("reproduced")
                else {
                    **{
                        part: {c: num(line[f"{part}_{c}"]) for c in REPRODUCTION_COLUMNS}
                        for part in _PAIR_PARTS
                    },
                    "reproduced": line["reproduced"] == "true",
                },
            }
        )
    return rows
