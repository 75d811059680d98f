"""The first catalog: models, versions, aliases, alias moves and events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the five tables of the registry catalog."""
    op.create_table(
        "models",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "versions",
        sa.Column("model_name", sa.String(64), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("major", sa.Integer, nullable=False),
        sa.Column("minor", sa.Integer, nullable=False),
        sa.Column("patch", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("metadata_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_versions_order", "versions", ["model_name", "major", "minor", "patch"])
    op.create_table(
        "aliases",
        sa.Column("model_name", sa.String(64), sa.ForeignKey("models.name"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "alias_moves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(64), sa.ForeignKey("models.name"), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_version", sa.String(32)),
        sa.Column("to_version", sa.String(32), nullable=False),
        sa.Column("moved_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_alias_moves_alias", "alias_moves", ["model_name", "alias", "id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(64)),
        sa.Column("version", sa.String(32)),
        sa.Column("detail", sa.Text),
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for table in ("events", "alias_moves", "aliases", "versions", "models"):
        op.drop_table(table)
