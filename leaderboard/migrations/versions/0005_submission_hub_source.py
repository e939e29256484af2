"""Submissions by hub reference: the dataset repo, the path in it and the commit sha the
images were fetched at (never a branch name), so anyone can fetch the same bytes. Null for
uploads.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("hub_repo", sa.String(length=200), nullable=True))
    op.add_column("submissions", sa.Column("hub_path", sa.Text(), nullable=True))
    op.add_column("submissions", sa.Column("hub_revision", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("hub_revision")
        batch.drop_column("hub_path")
        batch.drop_column("hub_repo")
