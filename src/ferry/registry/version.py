"""ModelVersion: one registered version as the catalog describes it (no catalog needed to hold one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its reference, metadata and the aliases pointing at it."""

    name: str
    version: str
    created_at: str
    metadata: dict[str, Any]
    aliases: tuple[str, ...]
    location: str

    @property
    def reference(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and HTTP API."""
        return {
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "aliases": list(self.aliases),
            "location": self.location,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        """The inverse of :meth:`to_dict` (raises KeyError/TypeError on a malformed value)."""
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            created_at=str(data["created_at"]),
            metadata=dict(data["metadata"]),
            aliases=tuple(str(alias) for alias in data["aliases"]),
            location=str(data["location"]),
        )
