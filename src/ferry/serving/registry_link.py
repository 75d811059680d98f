"""RegistryLink: a server's way to its registry, opened only when something needs the catalog.

A server starting from a warm cache knows which version to load (see ``resolutions.py``) and has
its files locally, so it can answer before SQLAlchemy is even imported (about a third of a second
on a small machine). Everything that does need the catalog (following aliases, admin routes,
drift figures, a cache miss) asks the link, which opens the registry once, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.config import RegistrySettings

if TYPE_CHECKING:
    from ferry.registry.registry import Registry
    from ferry.registry.version import ModelVersion


class RegistryLink:
    """The registry's settings at once; the registry itself from its first use on."""

    def __init__(self, settings: RegistrySettings, opener: Callable[[], Registry]) -> None:
        self.settings = settings
        self._opener = opener
        self._registry: Registry | None = None
        self._owned = True
        self._lock = threading.Lock()

    @classmethod
    def to(cls, registry: Registry) -> RegistryLink:
        """A link to a registry that is already open."""
        link = cls(registry.settings, lambda: registry)
        link._registry = registry
        link._owned = False  # its opener closes it
        return link

    @classmethod
    def lazy(cls, home: str | Path | None = None) -> RegistryLink:
        """A link to the registry ``home`` (or ``FERRY_*``) names, opened on first use."""
        settings = RegistrySettings.resolve(home)

        def open_registry() -> Registry:
            from ferry.registry.registry import Registry

            return Registry(home=settings.home)

        return cls(settings, open_registry)

    @property
    def opened(self) -> bool:
        """Whether the registry (and so SQLAlchemy) has been opened."""
        return self._registry is not None

    def get(self) -> Registry:
        """The registry, opened now if this is its first use."""
        with self._lock:
            if self._registry is None:
                self._registry = self._opener()
            return self._registry

    def resolve(self, ref: str) -> ModelVersion:
        """What ``ref`` points at in the catalog."""
        return self.get().resolve(ref)

    def read_artifact(self, ref: str, filename: str) -> bytes:
        """An artifact's hash-verified bytes (the loader's fetch on a cache miss)."""
        return self.get().read_artifact(ref, filename)

    @property
    def dialect(self) -> str:
        """The catalog's SQL dialect, read from its URL (``postgresql+psycopg://`` → postgresql)."""
        return self.settings.catalog_url.split(":", 1)[0].split("+", 1)[0]

    def close(self) -> None:
        """Release the catalog's connections if this link opened them."""
        with self._lock:
            if self._registry is not None and self._owned:
                self._registry.close()
