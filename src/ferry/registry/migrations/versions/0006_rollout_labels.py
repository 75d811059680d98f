"""Feedback labels handed between replicas: a label that reaches a replica which did not answer
its request waits here until the replica that did claims and scores it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``rollout_labels``."""
    op.create_table(
        "rollout_labels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rollout_id", sa.Integer, sa.ForeignKey("rollouts.id"), nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_rollout_labels_rollout", "rollout_labels", ["rollout_id", "id"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_rollout_labels_rollout", "rollout_labels")
    op.drop_table("rollout_labels")
