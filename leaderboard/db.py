"""Engine creation and schema migrations.

SQLite (the default, ``<data_dir>/leaderboard.db``): WAL journal, a busy timeout, and
SQLAlchemy emits the BEGIN itself (the documented pysqlite recipe: ``isolation_level = None``
on connect, BEGIN in the ``begin`` event). Connections from :func:`writer` begin with
``BEGIN IMMEDIATE``, taking the write lock up front, so a read-then-write transaction never
fails with "database is locked" halfway; plain reads begin deferred and never block writers.

Migrations: Alembic revisions in ``leaderboard/migrations/versions/``, applied at start by
:func:`migrate` in one write transaction. To change the schema, change ``models.py`` and add a
revision (``alembic revision --autogenerate`` against a database at head shows the DDL, with
``script_location`` = ``leaderboard/migrations``); never edit an old revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from scorer.errors import ConfigError

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

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LEGACY_TABLE = "schema_version"  # the home-made runner of release 0.1.0: steps 1-2 = 0002


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the store (no ini file): scripts in
    ``leaderboard/migrations``; ``connection`` is the one env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate(engine: Engine) -> str:
    """Upgrade the schema to the newest Alembic revision; returns it.

    One write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: under an advisory lock),
    so two processes starting at once apply each revision exactly once. A database made by
    release 0.1.0 (``schema_version`` table, no ``alembic_version``) is stamped at the
    revision that matches what its runner applied, then upgraded."""
    with writer(engine).begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        config = alembic_config(conn)
        inspector = inspect(conn)
        if inspector.has_table(_LEGACY_TABLE) and not inspector.has_table("alembic_version"):
            steps = set(conn.scalars(text(f"SELECT step FROM {_LEGACY_TABLE}")))
            if steps >= {1, 2}:
                command.stamp(config, "0002")
            elif steps == {1}:
                command.stamp(config, "0001")
        command.upgrade(config, "head")
        return MigrationContext.configure(conn).get_current_revision()
