"""Engine creation and schema migrations.

SQLite (the default, ``<data_dir>/leaderboard.db``): WAL journal, a busy timeout, and
SQLAlchemy emits the BEGIN itself (the documented pysqlite recipe: ``isolation_level = None``
on connect, BEGIN in the ``begin`` event). Connections from :func:`writer` begin with
``BEGIN IMMEDIATE``, taking the write lock up front, so a read-then-write transaction never
fails with "database is locked" halfway; plain reads begin deferred and never block writers.

Migrations: an ordered list of steps; the ``schema_version`` table records which ran. They
run in one write transaction (on PostgreSQL under an advisory lock), so two processes starting
at once apply each step exactly once. Add a step to change the schema; never edit an old one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url

from scorer.errors import ConfigError

from . import models
from .models import utcnow
from .seed import seed_published

_WRITE = "hps_write"
_PG_MIGRATION_LOCK = 0x48505332  # arbitrary advisory-lock key ("HPS2")


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"HPS_DATABASE_URL={url!r} is not a database URL ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # unknown dialect or missing driver
        raise ConfigError(f"HPS_DATABASE_URL: cannot use {parsed.drivername!r} ({exc})") from None


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine whose transactions take the write lock up front (SQLite)."""
    return engine.execution_options(**{_WRITE: True})


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# --- migrations -----------------------------------------------------------------------


def _step_create_tables(conn: Connection) -> None:
    models.metadata.create_all(conn)


def _step_seed_published(conn: Connection) -> None:
    seed_published(conn)


MIGRATIONS: tuple[tuple[int, str, Callable[[Connection], None]], ...] = (
    (1, "create tables", _step_create_tables),
    (2, "seed published v2.0/v2.1 results", _step_seed_published),
)


def migrate(engine: Engine) -> int:
    """Apply the steps not yet applied; return the schema version."""
    with writer(engine).begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        models.schema_version.create(conn, checkfirst=True)
        done = set(conn.scalars(select(models.schema_version.c.step)))
        for step, name, apply in MIGRATIONS:
            if step in done:
                continue
            apply(conn)
            conn.execute(
                insert(models.schema_version).values(step=step, name=name, applied_at=utcnow())
            )
        return max([s for s, _, _ in MIGRATIONS] + list(done))
