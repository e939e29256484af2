"""Drop the home-made migration runner's ``schema_version`` table (Alembic records the
revision in ``alembic_version`` now). A database of release 0.1.0 is stamped at 0002 first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("schema_version"):
        op.drop_table("schema_version")


def downgrade() -> None:
    pass
