"""Alembic environment: runs on the connection that :func:`leaderboard.db.migrate` hands over
(``config.attributes["connection"]``), inside its write transaction; never opens its own."""

from __future__ import annotations

from alembic import context

from leaderboard.models import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
