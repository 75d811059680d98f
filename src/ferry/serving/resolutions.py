"""Resolutions: the version each served reference last resolved to, kept in the local cache.

With it, a restart whose files and compiled model are cached loads without opening the catalog:
it serves what the reference pointed at when the server last looked, and the follower resolves
the reference against the catalog at its first poll (``FERRY_POLL_INTERVAL`` after start), so an
alias that moved meanwhile is followed as any other move. Records are keyed by a hash of the catalog's URL
and the reference, written atomically, and ignored when they do not parse.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ferry.registry.version import ModelVersion


class Resolutions:
    """A folder of ``reference → version`` records for one catalog."""

    def __init__(self, root: Path, catalog_url: str) -> None:
        self.root = root
        self.catalog = hashlib.sha256(catalog_url.encode()).hexdigest()  # no password on disk
        self._written: dict[str, ModelVersion] = {}

    @classmethod
    def in_cache(cls, cache_root: Path, catalog_url: str) -> Resolutions:
        """The records kept in a server's cache folder (``ferry compile`` writes them too)."""
        return cls(cache_root / "resolved", catalog_url)

    def get(self, ref: str) -> ModelVersion | None:
        """The version ``ref`` last resolved to, or None when unknown or unreadable."""
        try:
            record = json.loads(self._path(ref).read_text())
            if record["catalog"] != self.catalog or record["reference"] != ref:
                return None
            return ModelVersion.from_dict(record["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, ref: str, version: ModelVersion) -> None:
        """Remember that ``ref`` resolves to ``version`` (written only when it changed)."""
        if self._written.get(ref) == version:
            return
        record = {"catalog": self.catalog, "reference": ref, "version": version.to_dict()}
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(record, handle)
            Path(temporary).replace(self._path(ref))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._written[ref] = version

    def _path(self, ref: str) -> Path:
        key = hashlib.sha256(f"{self.catalog}\n{ref}".encode()).hexdigest()[:32]
        return self.root / f"{key}.json"
