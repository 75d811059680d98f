"""Queries over the catalog inside one transaction, returning plain records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from ferry.registry.refs import Version
from ferry.registry.tables import alias_moves, aliases, events, models, versions


@dataclass(frozen=True)
class VersionRecord:
    """One registered version as the catalog knows it."""

    name: str
    version: Version
    created_at: str
    flavor: str
    metadata: dict[str, Any]
    metadata_sha256: str


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: a ``set`` by a user or a ``rollback``."""

    alias: str
    kind: str
    from_version: str | None
    to_version: str
    moved_at: str
    actor: str
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and HTTP API."""
        return {
            "alias": self.alias,
            "kind": self.kind,
            "from": self.from_version,
            "to": self.to_version,
            "at": self.moved_at,
            "by": self.actor,
            "reason": self.reason,
        }


ALIAS_CHANNEL = "ferry_aliases"
"""The PostgreSQL NOTIFY channel on which every alias move is announced."""

_ORDER = (versions.c.major, versions.c.minor, versions.c.patch)


class CatalogSession:
    """Reads and writes of one transaction; writes only inside :meth:`Catalog.writing`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock_model(self, name: str, now: str) -> None:
        """Create the model row if needed and hold its lock until the transaction ends."""
        from sqlalchemy.dialects import postgresql, sqlite  # on first write: keeps start-up light

        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        self.connection.execute(
            dialect.insert(models).values(name=name, created_at=now).on_conflict_do_nothing()
        )
        query = select(models.c.name).where(models.c.name == name)
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        self.connection.execute(query)

    def model_names(self) -> list[str]:
        """Every model that has at least one version, by name."""
        query = select(versions.c.model_name).distinct().order_by(versions.c.model_name)
        return [row[0] for row in self.connection.execute(query)]

    def versions_of(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, oldest first."""
        query = select(versions).where(versions.c.model_name == name).order_by(*_ORDER)
        return [_record(row) for row in self.connection.execute(query).mappings()]

    def version(self, name: str, version: Version) -> VersionRecord | None:
        """One version, or None."""
        query = select(versions).where(
            versions.c.model_name == name, versions.c.version == str(version)
        )
        row = self.connection.execute(query).mappings().first()
        return None if row is None else _record(row)

    def latest(self, name: str) -> VersionRecord | None:
        """The highest version of ``name`` (semver order), or None."""
        query = (
            select(versions)
            .where(versions.c.model_name == name)
            .order_by(*(column.desc() for column in _ORDER))
            .limit(1)
        )
        row = self.connection.execute(query).mappings().first()
        return None if row is None else _record(row)

    def insert_version(self, record: VersionRecord) -> None:
        """Add a version row; the caller holds the model's lock."""
        self.connection.execute(
            insert(versions).values(
                model_name=record.name,
                version=str(record.version),
                major=record.version.major,
                minor=record.version.minor,
                patch=record.version.patch,
                created_at=record.created_at,
                flavor=record.flavor,
                metadata=json.dumps(record.metadata, sort_keys=True),
                metadata_sha256=record.metadata_sha256,
            )
        )

    def delete_version(self, name: str, version: Version) -> None:
        """Remove a version row; its folder is removed afterwards by the caller."""
        self.connection.execute(
            delete(versions).where(
                versions.c.model_name == name, versions.c.version == str(version)
            )
        )

    def aliases_of(self, name: str) -> dict[str, str]:
        """``{alias: version}`` for one model."""
        query = select(aliases.c.alias, aliases.c.version).where(aliases.c.model_name == name)
        return {row.alias: row.version for row in self.connection.execute(query)}

    def alias_target(self, name: str, alias: str) -> str | None:
        """The version an alias points at, or None."""
        return self.aliases_of(name).get(alias)

    def move_alias(self, name: str, move: AliasMove) -> None:
        """Point an alias at a version and record the move, in one transaction."""
        values = {"version": move.to_version, "updated_at": move.moved_at}
        where = (aliases.c.model_name == name, aliases.c.alias == move.alias)
        if move.from_version is None:
            self.connection.execute(
                insert(aliases).values(model_name=name, alias=move.alias, **values)
            )
        else:
            self.connection.execute(update(aliases).where(*where).values(**values))
        self.connection.execute(
            insert(alias_moves).values(
                model_name=name,
                alias=move.alias,
                kind=move.kind,
                from_version=move.from_version,
                to_version=move.to_version,
                moved_at=move.moved_at,
                actor=move.actor,
                reason=move.reason,
            )
        )
        if self.connection.dialect.name == "postgresql":
            # Delivered at commit: servers listening on ALIAS_CHANNEL swap without waiting a poll.
            self.connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": ALIAS_CHANNEL, "payload": f"{name}@{move.alias}"},
            )

    def alias_moves(
        self, name: str, alias: str | None = None, newest: int | None = None
    ) -> list[AliasMove]:
        """Every move of ``name``'s aliases (or one alias), oldest first; only the ``newest``
        few when given (a page's timeline)."""
        query = select(alias_moves).where(alias_moves.c.model_name == name)
        if alias is not None:
            query = query.where(alias_moves.c.alias == alias)
        if newest is not None:
            kept = query.order_by(alias_moves.c.id.desc()).limit(newest).subquery()
            query = select(kept)
        rows = self.connection.execute(query.order_by("id")).mappings()
        return [
            AliasMove(
                alias=row["alias"],
                kind=row["kind"],
                from_version=row["from_version"],
                to_version=row["to_version"],
                moved_at=row["moved_at"],
                actor=row["actor"],
                reason=row["reason"],
            )
            for row in rows
        ]

    def add_event(
        self, at: str, kind: str, name: str | None, version: str | None, detail: Any
    ) -> None:
        """Record something that happened (registered, deleted, cleaned) for audit."""
        self.connection.execute(
            insert(events).values(
                at=at, kind=kind, model_name=name, version=version, detail=json.dumps(detail)
            )
        )


def _record(row: Any) -> VersionRecord:
    return VersionRecord(
        name=row["model_name"],
        version=Version(row["major"], row["minor"], row["patch"]),
        created_at=row["created_at"],
        flavor=row["flavor"],
        metadata=json.loads(row["metadata"]),
        metadata_sha256=row["metadata_sha256"],
    )
