"""Per-feature reference and current distributions of each monitor check (for the dashboard's
plots), in their own column so listing checks never reads them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``distributions`` (JSON text, null for checks made before) to ``monitor_checks``."""
    with op.batch_alter_table("monitor_checks") as batch:
        batch.add_column(sa.Column("distributions", sa.Text))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("monitor_checks") as batch:
        batch.drop_column("distributions")
