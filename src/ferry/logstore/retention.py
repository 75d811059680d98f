"""How long the prediction log keeps its files: by age (days) and by total size (bytes).

Applied by the server now and then (``FERRY_LOG_RETENTION_DAYS``, ``FERRY_LOG_MAX_BYTES``) and by
``ferry retain --logs``. Only files ferry wrote are considered (``part-*.parquet`` in a ``day=``
folder of ``predictions/`` or ``feedback/``); anything else at the location is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ferry.errors import InvalidInput
from ferry.logstore.store import LogFile, LogStore

ABANDONED_AFTER = timedelta(hours=1)
"""A temporary file this old was left by a writer that died (a write takes seconds)."""


@dataclass(frozen=True)
class RetentionResult:
    """What one pass removed and what it kept."""

    removed: tuple[LogFile, ...]
    kept_files: int
    kept_bytes: int
    at: datetime

    @property
    def removed_bytes(self) -> int:
        """Bytes freed."""
        return sum(file.bytes for file in self.removed)

    def to_dict(self) -> dict[str, Any]:
        """The form printed by ``ferry retain --logs --json`` and shown in health."""
        return {
            "removed_files": len(self.removed),
            "removed_bytes": self.removed_bytes,
            "kept_files": self.kept_files,
            "kept_bytes": self.kept_bytes,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class LogRetention:
    """Keep days newer than ``days`` and, of those, the newest files up to ``max_bytes``."""

    days: float | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 0:
            raise InvalidInput(f"log retention days must be at least 0, got {self.days}")
        if self.max_bytes is not None and self.max_bytes < 0:
            raise InvalidInput(f"log max bytes must be at least 0, got {self.max_bytes}")

    @property
    def active(self) -> bool:
        """True when there is a limit to apply."""
        return self.days is not None or self.max_bytes is not None

    def apply(self, store: LogStore, now: datetime) -> RetentionResult:
        """Delete what the limits exclude, oldest first; return what was removed."""
        files = store.files()
        excluded = self._expired(files, now) | self._oversize(files, self._expired(files, now))
        doomed = [file for file in files if file.path in excluded]
        doomed += store.abandoned(now - ABANDONED_AFTER)
        removed = tuple(file for file in doomed if store.remove(file.path))
        kept = [file for file in files if file.path not in excluded]
        return RetentionResult(removed, len(kept), sum(file.bytes for file in kept), now)

    def _expired(self, files: list[LogFile], now: datetime) -> set[str]:
        """Files of days that ended more than ``days`` ago (a day's rows all precede its end)."""
        if self.days is None:
            return set()
        cutoff = (now - timedelta(days=self.days)).date()
        return {file.path for file in files if file.day < cutoff}

    def _oversize(self, files: list[LogFile], expired: set[str]) -> set[str]:
        """The oldest of the remaining files, until the rest fits in ``max_bytes``."""
        if self.max_bytes is None:
            return set()
        remaining = [file for file in files if file.path not in expired]
        total = sum(file.bytes for file in remaining)
        doomed = set()
        for file in remaining:  # oldest day first
            if total <= self.max_bytes:
                break
            doomed.add(file.path)
            total -= file.bytes
        return doomed
