"""Schema migrations with Alembic: a database of release 0.1.0 upgrades without losing a row,
and the migrations build exactly the schema that ``leaderboard/models.py`` declares."""

from __future__ import annotations

import shutil
import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from leaderboard import Store
from leaderboard import models as m
from leaderboard.db import head_revision, make_engine, migrate
from submissions.settings import SubmissionSettings
from tests.conftest import REPO

# Made by tests/fixtures/make_release_0_1_0_db.py with the code of release 0.1.0 (commit
# 8cf2dd4): three models, two scored submissions (one partial), one queued, the seed rows.
RELEASE_0_1_0_DB = REPO / "tests" / "fixtures" / "leaderboard-0.1.0.db"
TABLES = (
    "models",
    "prompt_sets",
    "submissions",
    "submission_prompt_sets",
    "image_scores",
    "style_results",
    "reported_results",
)


def _columns(path) -> dict[str, list[str]]:
    con = sqlite3.connect(path)
    try:
        return {t: [c[1] for c in con.execute(f'PRAGMA table_info("{t}")')] for t in TABLES}
    finally:
        con.close()


def _dump(path, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every data table, in the given columns (those of release 0.1.0; later
    revisions add columns), read with plain sqlite3 (not through our code)."""
    con = sqlite3.connect(path)
    out = {}
    try:
        for t in TABLES:
            selected = ", ".join(f'"{c}"' for c in columns[t])
            out[t] = sorted(con.execute(f'SELECT {selected} FROM "{t}"').fetchall())
    finally:
        con.close()
    return out


def test_release_0_1_0_database_upgrades_without_losing_a_row(tmp_path):
    db = tmp_path / "data" / "leaderboard.db"
    db.parent.mkdir()
    shutil.copy(RELEASE_0_1_0_DB, db)
    old_columns = _columns(db)
    before = _dump(db, old_columns)
    assert len(before["image_scores"]) > 0 and len(before["submissions"]) == 3

    settings = SubmissionSettings(data_dir=str(tmp_path / "data"))
    with Store.open(settings) as store:
        v21 = store.leaderboard("v2.1", include_partial=True)
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            assert not inspect(conn).has_table("schema_version")
    after = _dump(db, old_columns)
    assert after == before  # not a row lost, changed or seeded twice
    added = {t: [c for c in cols if c not in old_columns[t]] for t, cols in _columns(db).items()}
    assert added["submissions"] == ["hub_repo", "hub_path", "hub_revision"]  # 0005
    con = sqlite3.connect(db)
    assert con.execute("SELECT DISTINCT hub_repo, hub_revision FROM submissions").fetchall() == [
        (None, None)
    ]
    con.close()
    names = {r.model for r in v21}
    assert {"Fixture Model A", "Fixture Model B"} <= names
    # opening again applies nothing
    with Store.open(settings):
        pass
    assert _dump(db, old_columns) == before


def test_migrations_build_the_declared_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate(engine) == head_revision()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), m.metadata)
    engine.dispose()
    assert diffs == []


def test_the_schema_check_sees_a_missing_column(tmp_path):
    """The comparison above can fail: a table that lacks a declared column is reported."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE models (id INTEGER PRIMARY KEY)")
        diffs = compare_metadata(MigrationContext.configure(conn), m.metadata)
    engine.dispose()
    assert any(d[0] == "add_column" and d[3].name == "name" for d in diffs)
