"""Version numbers: which one a new registration gets, decided under the model's catalog lock.

The first version is 1.0.0; the next bumps the minor number of the highest version, or the
major number when the input schema differs from the parent's; an explicit unused number wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ferry.errors import AlreadyExists, NotFound
from ferry.registry.catalog_session import CatalogSession, VersionRecord
from ferry.registry.refs import FIRST_VERSION, Version


def allocate(
    session: CatalogSession,
    name: str,
    draft: Mapping[str, Any],
    explicit: Version | None,
    parent: Version | None,
) -> tuple[Version, VersionRecord | None]:
    """Pick the new version number (and its parent) while holding the model's lock."""
    latest = session.latest(name)
    parent_record = latest
    if parent is not None:
        parent_record = session.version(name, parent)
        if parent_record is None:
            raise NotFound(f"parent version {name}:{parent} does not exist")
    if explicit is not None:
        if session.version(name, explicit) is not None:
            raise AlreadyExists(f"{name}:{explicit} already exists; versions are immutable")
        return explicit, parent_record
    if latest is None:
        return FIRST_VERSION, None
    schema_changed = parent_record is not None and (
        parent_record.metadata["input_schema"] != draft["input_schema"]
    )
    number = latest.version.next_major() if schema_changed else latest.version.next_minor()
    return number, parent_record
