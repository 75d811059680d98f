"""Continuous training: training runs and monitor checks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``runs`` and ``monitor_checks`` tables."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("pipeline", sa.Text, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("started_at", sa.String(32)),
        sa.Column("ended_at", sa.String(32)),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer),
        sa.Column("primary_metric", sa.String(32)),
        sa.Column("metrics", sa.Text),
        sa.Column("cv_metrics", sa.Text),
        sa.Column("champion_metrics", sa.Text),
        sa.Column("version", sa.String(32)),
        sa.Column("champion_version", sa.String(32)),
        sa.Column("decision", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("training_seconds", sa.Float),
        sa.Column("notes", sa.Text),
    )
    op.create_index("ix_runs_model", "runs", ["model_name", "created_at"])
    op.create_table(
        "monitor_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("pipeline", sa.Text, nullable=False),
        sa.Column("checked_at", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("window_start", sa.String(32)),
        sa.Column("window_end", sa.String(32)),
        sa.Column("consumed", sa.Boolean, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("champion_version", sa.String(32)),
        sa.Column("drift", sa.Boolean),
        sa.Column("performance_drift", sa.Boolean),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_monitor_checks_model", "monitor_checks", ["model_name", "id"])


def downgrade() -> None:
    """Drop what the upgrade created."""
    op.drop_table("monitor_checks")
    op.drop_table("runs")
