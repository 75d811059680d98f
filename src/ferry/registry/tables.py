"""The catalog's tables (SQLAlchemy Core). Changes go through a migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("model_name", String(64), ForeignKey("models.name"), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("flavor", String(32), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("metadata_sha256", String(64), nullable=False),
    Index("ix_versions_order", "model_name", "major", "minor", "patch"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("model_name", String(64), ForeignKey("models.name"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

alias_moves = Table(
    "alias_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(64), ForeignKey("models.name"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_version", String(32)),
    Column("to_version", String(32), nullable=False),
    Column("moved_at", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text),
    Index("ix_alias_moves_alias", "model_name", "alias", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("model_name", String(64)),
    Column("version", String(32)),
    Column("detail", Text),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model_name", String(64), nullable=False),
    Column("pipeline", Text, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("started_at", String(32)),
    Column("ended_at", String(32)),
    Column("steps", Text, nullable=False),
    Column("rows", Integer),
    Column("primary_metric", String(32)),
    Column("metrics", Text),
    Column("cv_metrics", Text),
    Column("champion_metrics", Text),
    Column("version", String(32)),
    Column("champion_version", String(32)),
    Column("decision", String(16)),
    Column("reason", Text),
    Column("error", Text),
    Column("training_seconds", Float),
    Column("notes", Text),
    Column("comparison_rows", Integer),
    Column("excluded_rows", Integer),
    Column("comparison_metrics", Text),
    Index("ix_runs_model", "model_name", "created_at"),
)

monitor_checks = Table(
    "monitor_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(64), nullable=False),
    Column("pipeline", Text, nullable=False),
    Column("checked_at", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("window_start", String(32)),
    Column("window_end", String(32)),
    Column("consumed", Boolean, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("champion_version", String(32)),
    Column("drift", Boolean),
    Column("performance_drift", Boolean),
    Column("action", String(16), nullable=False),
    Column("run_id", String(32)),
    Column("status", String(16), nullable=False),
    Column("summary", Text),
    Column("error", Text),
    Column("distributions", Text),  # per feature, JSON; read only for the check a page shows
    Index("ix_monitor_checks_model", "model_name", "id"),
)

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(64), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("primary_version", String(32), nullable=False),
    Column("candidate_version", String(32), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("steps", Text, nullable=False),
    Column("interval_seconds", Float, nullable=False),
    Column("min_requests", Integer, nullable=False),
    Column("bounds", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("check_window", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("window_started_at", String(32), nullable=False),
    Column("ended_at", String(32)),
    Column("actor", String(128), nullable=False),
    Column("reason", Text),
    Index("ix_rollouts_model", "model_name", "id"),
)

rollout_events = Table(
    "rollout_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("step_percent", Integer, nullable=False),
    Column("detail", Text),
    Index("ix_rollout_events_rollout", "rollout_id", "id"),
)

rollout_figures = Table(
    "rollout_figures",
    metadata,
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), primary_key=True),
    Column("check_window", Integer, primary_key=True),
    Column("replica", String(128), primary_key=True),
    Column("figures", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

rollout_labels = Table(
    "rollout_labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rollout_id", Integer, ForeignKey("rollouts.id"), nullable=False),
    Column("request_id", Text, nullable=False),
    Column("label", Text, nullable=False),  # JSON: the scalar label as POST /feedback got it
    Column("created_at", String(32), nullable=False),
    Index("ix_rollout_labels_rollout", "rollout_id", "id"),
)
