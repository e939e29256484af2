"""Reported rows and their verified twins: pairs, differences, the "reproduced" mark.

A reported row (a published figure) and a verified row (scored here) are twins when they
belong to the same model (the same ``models.id``) in the same version. Only a reproduction
(the published model's own images, ``submissions.reproduce``) joins a published model:
ordinary submissions under a published name are refused (``leaderboard.identity``).
When a model has several finished, non-partial verified rows, the newest is the twin. The
difference is verified minus reported, per style and Averaged; the pair is *reproduced*
when every style is within the tolerance (``HPS_REPRODUCED_WITHIN``, 0.1 by default).
Pure functions of leaderboard rows: no database here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from scorer.protocol import STYLES

from .models import KIND_REPORTED, KIND_VERIFIED
from .records import DEFAULT_TOLERANCE, REPRODUCTION_COLUMNS, LeaderboardRow, Reproduction

__all__ = [
    "DEFAULT_TOLERANCE",
    "REPRODUCTION_COLUMNS",
    "Reproduction",
    "attach_reproductions",
    "find_reproductions",
    "reproductions",
]


def _values(row: LeaderboardRow) -> dict[str, float | None]:
    out = {s: (row.styles.get(s).mean if row.styles.get(s) else None) for s in STYLES}
    out["averaged"] = row.averaged
    return out


def _newest_first(row: LeaderboardRow):
    stamp = row.created_at.timestamp() if row.created_at else 0.0
    return (-stamp, -(row.submission_id or 0))


def find_reproductions(
    rows: Sequence[LeaderboardRow], tolerance: float = DEFAULT_TOLERANCE
) -> dict[int, Reproduction]:
    """model id -> the reproduction of its reported row, for models that have both."""
    reported = {r.model_id: r for r in rows if r.kind == KIND_REPORTED and r.model_id is not None}
    out: dict[int, Reproduction] = {}
    candidates = [
        r for r in rows if r.kind == KIND_VERIFIED and not r.partial and r.model_id in reported
    ]
    for row in sorted(candidates, key=_newest_first):
        if row.model_id in out:
            continue
        twin = reported[row.model_id]
        out[row.model_id] = Reproduction(
            model=twin.model,
            version=row.version,
            submission_id=row.submission_id,
            reported=_values(twin),
            verified=_values(row),
            tolerance=tolerance,
        )
    return out


def attach_reproductions(
    rows: Sequence[LeaderboardRow], tolerance: float = DEFAULT_TOLERANCE
) -> list[LeaderboardRow]:
    """The rows, with the reported row and its verified twin both carrying the pair."""
    found = find_reproductions(rows, tolerance)
    out = []
    for row in rows:
        rep = found.get(row.model_id)
        is_twin = rep is not None and (
            row.kind == KIND_REPORTED or row.submission_id == rep.submission_id
        )
        out.append(dataclasses.replace(row, reproduction=rep) if is_twin else row)
    return out


def reproductions(rows: Sequence[LeaderboardRow]) -> list[Reproduction]:
    """Every pair among rows that carry one, in row order, each once."""
    seen: set[int] = set()
    out = []
    for row in rows:
        rep = row.reproduction
        if rep is not None and rep.submission_id not in seen:
            seen.add(rep.submission_id)
            out.append(rep)
    return out
