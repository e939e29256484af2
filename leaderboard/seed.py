"""The published HPS v2 / v2.1 tables, seeded once as rows of kind "reported".

The figures are the project's own copy (``published_results.json``) of the tables in the
HPS v2 repository README. The source gives means only: reported rows have no std.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Connection, insert, select

from scorer.protocol import STYLES

from . import models
from .models import utcnow

SEED_FILE = Path(__file__).with_name("published_results.json")
COLUMNS: tuple[str, ...] = (*STYLES, "averaged")


def load_published(path: Path = SEED_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def seed_published(conn: Connection, path: Path = SEED_FILE) -> int:
    """Insert the published rows (models created as needed); returns rows inserted."""
    data = load_published(path)
    source = data.get("source")
    inserted = 0
    for version, rows in data["tables"].items():
        for row in rows:
            model_id = ensure_model(conn, row["model"])
            for column in COLUMNS:
                if row.get(column) is None:
                    continue
                conn.execute(
                    insert(models.reported_results).values(
                        model_id=model_id,
                        version=version,
                        column=column,
                        mean=float(row[column]),
                        source=source,
                    )
                )
                inserted += 1
    return inserted


def ensure_model(conn: Connection, name: str) -> int:
    """Id of the published model called ``name``, created if new. Nothing about an existing
    model is changed: its link, organisation and notes are set once, at creation
    (:mod:`leaderboard.identity`)."""
    t = models.models
    found = conn.execute(select(t.c.id).where(t.c.name == name)).scalar()
    if found is not None:
        return found
    return conn.execute(
        insert(t).values(name=name, created_at=utcnow()).returning(t.c.id)
    ).scalar_one()
