"""Seed the published HPS v2 / v2.1 tables as rows of kind "reported".

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from leaderboard.seed import seed_published

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    seed_published(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM reported_results")
