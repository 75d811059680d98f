"""The server's local cache: fetched artifacts and compiled ONNX files, both validated on use.

Artifacts are stored by their sha256, so a cached copy is trusted only while its bytes still hash
to the name it is stored under. Compiled models sit beside a small JSON record of their own hash,
of the source artifact's hash they were compiled from, and of whether they agreed with the native
model; a record that no longer matches, or names another source, is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.serving.startup import Phases

log = logging.getLogger("ferry.serving")


@dataclass(frozen=True)
class CompiledEntry:
    """A compiled model in the cache: its bytes (None when it disagreed) and the record."""

    data: bytes | None
    record: dict[str, Any]


class ModelCache:
    """A folder of content-addressed artifacts and compiled models."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        (root / "compiled").mkdir(parents=True, exist_ok=True)

    def artifact(self, sha256: str, phases: Phases | None = None) -> bytes | None:
        """The cached bytes for ``sha256``, or None when absent or no longer matching.

        ``phases`` (when given) counts the read as ``fetch`` and the hash check as ``verify``.
        """
        phases = phases or Phases()
        path = self.root / "artifacts" / _checked_hex(sha256)
        try:
            with phases.timed("fetch"):
                data = path.read_bytes()
        except OSError:  # absent or unreadable: a miss
            return None
        with phases.timed("verify"):
            return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def holds(self, sha256: str, phases: Phases | None = None) -> bool:
        """Whether the cache holds intact bytes for ``sha256``, hashed as they are read and not
        kept: for a model file that a compiled graph stands in for, which must still be checked
        but is never opened (``phases``: the read and its hash count as ``verify``)."""
        phases = phases or Phases()
        path = self.root / "artifacts" / _checked_hex(sha256)
        try:
            with phases.timed("verify"), path.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
        except OSError:  # absent or unreadable: a miss
            return False

    def store_artifact(self, sha256: str, data: bytes) -> None:
        """Keep verified bytes for the next start (skipped, with a warning, when read-only)."""
        self._store(self.root / "artifacts" / _checked_hex(sha256), data)

    def compiled(
        self, key: str, source_sha256: str, phases: Phases | None = None
    ) -> CompiledEntry | None:
        """A compiled entry of ``source_sha256`` whose file still matches its record, or None
        (``phases``: the reads count as ``fetch``, the hash check as ``verify``)."""
        phases = phases or Phases()
        record_path = self.root / "compiled" / f"{key}.json"
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):  # absent, unreadable or not JSON: a miss
            return None
        if not isinstance(record, dict) or record.get("source_sha256") != source_sha256:
            return None
        if not record.get("agrees"):
            return CompiledEntry(None, record)
        try:
            with phases.timed("fetch"):
                data = (self.root / "compiled" / f"{key}.onnx").read_bytes()
        except OSError:
            return None
        with phases.timed("verify"):
            if hashlib.sha256(data).hexdigest() != record.get("sha256"):
                return None
        return CompiledEntry(data, record)

    def store_compiled(self, key: str, data: bytes | None, record: dict[str, Any]) -> None:
        """Keep a compiled model (or the fact that it disagreed) under ``key``."""
        if data is not None:
            record = {**record, "sha256": hashlib.sha256(data).hexdigest()}
            self._store(self.root / "compiled" / f"{key}.onnx", data)
        self._store(self.root / "compiled" / f"{key}.json", json.dumps(record).encode())

    def _store(self, path: Path, data: bytes) -> None:
        """Write one cache file; a cache that cannot be written (a read-only bundle in an
        image) costs the next start a recompile, never this load."""
        try:
            _write_atomically(path, data)
        except OSError as error:
            log.warning(
                "cannot write %s to the cache (%s); serving without caching it", path, error
            )


def _checked_hex(sha256: str) -> str:
    """Cache file names come from hashes only; anything else never becomes a path."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return sha256


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
