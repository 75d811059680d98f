"""Fair comparisons: how many holdout rows a run compared on, how many it excluded, and the
candidate's metrics on them.

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
    """Add ``comparison_rows``, ``excluded_rows`` and ``comparison_metrics`` to ``runs``."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("comparison_rows", sa.Integer))
        batch.add_column(sa.Column("excluded_rows", sa.Integer))
        batch.add_column(sa.Column("comparison_metrics", sa.Text))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("comparison_metrics")
        batch.drop_column("excluded_rows")
        batch.drop_column("comparison_rows")
