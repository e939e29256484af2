"""Per-image failure records: a job that cannot score one image records it here, scores the
rest and ends done; the row is incomplete (never ranked) until the image is resolved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("style", sa.String(length=40), nullable=False),
        sa.Column("prompt_index", sa.Integer(), nullable=False),
        sa.Column("image", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "style", "prompt_index", name="uq_image_failures_key"),
    )
    op.create_index(op.f("ix_image_failures_submission_id"), "image_failures", ["submission_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_image_failures_submission_id"), table_name="image_failures")
    op.drop_table("image_failures")
