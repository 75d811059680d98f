"""The catalog's tables (SQLAlchemy Core). Changes go through a migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

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
