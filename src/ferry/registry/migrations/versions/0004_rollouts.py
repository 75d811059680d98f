"""Rollouts: a candidate version served beside the primary, its steps, checks and figures.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``rollouts``, ``rollout_events`` and ``rollout_figures``."""
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("primary_version", sa.String(32), nullable=False),
        sa.Column("candidate_version", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("interval_seconds", sa.Float, nullable=False),
        sa.Column("min_requests", sa.Integer, nullable=False),
        sa.Column("bounds", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step_index", sa.Integer, nullable=False),
        sa.Column("check_window", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("window_started_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_rollouts_model", "rollouts", ["model_name", "id"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rollout_id", sa.Integer, sa.ForeignKey("rollouts.id"), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step_percent", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_rollout_events_rollout", "rollout_events", ["rollout_id", "id"])
    op.create_table(
        "rollout_figures",
        sa.Column("rollout_id", sa.Integer, sa.ForeignKey("rollouts.id"), primary_key=True),
        sa.Column("check_window", sa.Integer, primary_key=True),
        sa.Column("replica", sa.String(128), primary_key=True),
        sa.Column("figures", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("rollout_figures")
    op.drop_index("ix_rollout_events_rollout", "rollout_events")
    op.drop_table("rollout_events")
    op.drop_index("ix_rollouts_model", "rollouts")
    op.drop_table("rollouts")
