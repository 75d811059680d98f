"""LogStore: the prediction log's folder (local or any fsspec URL) and its file layout.

Layout under the location (``FERRY_LOG_DIR``, default ``FERRY_HOME``)::

    predictions/model=<name>/version=<version>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet
    feedback/model=<name>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet

Every server replica names its files with its own replica id, so replicas sharing a location
never write the same file; readers take every ``part-*.parquet`` of a day, whoever wrote it.
A file appears whole: locally by rename, on object stores by one PUT.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PREDICTIONS_DIR = "predictions"
FEEDBACK_DIR = "feedback"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"


@dataclass(frozen=True)
class LogFile:
    """One file of the log: its path in the store, size, kind and ``day=`` partition."""

    path: str
    bytes: int
    kind: str
    day: date


class LogStore:
    """The prediction log's location; every read, write and delete of its files goes here."""

    def __init__(self, url: str | Path, storage_options: Mapping[str, Any] | None = None) -> None:
        text = str(url)
        self._filesystem: Any = None
        if "://" not in text or text.startswith("file://"):
            text = str(Path(text.removeprefix("file://")).expanduser().resolve())
            self._base, self.local = text, True
        else:
            import fsspec
            from fsspec.implementations.local import LocalFileSystem

            self._filesystem, self._base = fsspec.core.url_to_fs(
                text, **dict(storage_options or {})
            )
            self.local = isinstance(self._filesystem, LocalFileSystem)
        self.url = text

    @property
    def _fs(self) -> Any:
        """The store's filesystem; a local one is made at first use, so that a server's start
        (which only builds the store) does not import fsspec before its first answer."""
        if self._filesystem is None:
            from fsspec.implementations.local import LocalFileSystem

            self._filesystem = LocalFileSystem()
        return self._filesystem

    @property
    def location(self) -> str:
        """The URL for people: credentials (``user:password@``) removed."""
        parts = urlsplit(self.url)
        if not parts.scheme or (parts.password is None and parts.username is None):
            return self.url
        return urlunsplit(parts._replace(netloc=parts.hostname or ""))

    def path(self, *parts: str) -> str:
        """A path below the location."""
        return "/".join([self._base.rstrip("/"), *parts])

    def relative(self, path: str) -> str:
        """A path of the store relative to the location (for people and JSON)."""
        return path.removeprefix(self._base.rstrip("/")).lstrip("/")

    # -- writing --------------------------------------------------------------------------

    def write(self, folder: tuple[str, ...], data: bytes, replica: str) -> str:
        """Store one Parquet file's bytes in ``folder`` under a new name; return its path."""
        name = f"{PART_PREFIX}{replica}-{uuid.uuid4().hex}{PART_SUFFIX}"
        target = self.path(*folder, name)
        if not self.local:
            self._fs.pipe_file(target, data)
            return target
        directory = Path(self.path(*folder))
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{name}.tmp"
        try:
            with temporary.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.rename(target)
        finally:
            temporary.unlink(missing_ok=True)
        return target

    # -- reading --------------------------------------------------------------------------

    def parts(self, *folder: str) -> list[str]:
        """Every complete ``part-*.parquet`` file below ``folder``, of every replica, sorted.

        One recursive listing (no per-folder listing: on object stores that is one paginated
        request, and some S3-compatible servers list prefixes with ``=`` in them badly).
        """
        root = self.path(*folder)
        self._fs.invalidate_cache(root)
        try:
            found = self._fs.find(root)
        except FileNotFoundError:
            return []
        return sorted(str(path) for path in found if _is_part(str(path).rsplit("/", 1)[-1]))

    def read(self, path: str) -> Any:
        """One file as an Arrow table."""
        import pyarrow.parquet as pq

        with self._fs.open(path, "rb") as handle:
            return pq.read_table(handle)

    def files(self) -> list[LogFile]:
        """Every file ferry wrote (``part-*.parquet`` in a ``day=`` folder), oldest day first."""
        found = []
        for kind in (PREDICTIONS_DIR, FEEDBACK_DIR):
            root = self.path(kind)
            self._fs.invalidate_cache(root)
            try:
                listed = self._fs.find(root, detail=True)
            except FileNotFoundError:
                continue
            for path, info in listed.items():
                day = partition_day(path)
                if day is not None and _is_part(path.rsplit("/", 1)[-1]):
                    found.append(LogFile(path, int(info.get("size") or 0), kind, day))
        return sorted(found, key=lambda file: (file.day, file.path))

    def abandoned(self, before: datetime) -> list[LogFile]:
        """Half-written local files (``.part-*.tmp``) older than ``before``: left by a process
        that died mid-write, never renamed into place, so no reader will ever take them."""
        if not self.local:
            return []  # object stores get whole files in one PUT: nothing is ever half-written
        found = []
        for kind in (PREDICTIONS_DIR, FEEDBACK_DIR):
            for path in Path(self.path(kind)).glob(f"**/.{PART_PREFIX}*{PART_SUFFIX}.tmp"):
                day = partition_day(path.as_posix())
                with contextlib.suppress(FileNotFoundError):
                    status = path.stat()
                    if day is not None and status.st_mtime < before.timestamp():
                        found.append(LogFile(str(path), status.st_size, kind, day))
        return found

    def remove(self, path: str) -> bool:
        """Delete one log file; False when it was already gone (another replica pruned it)."""
        try:
            self._fs.rm_file(path)
        except FileNotFoundError:
            return False
        if self.local:
            _remove_empty_parents(Path(path).parent, Path(self._base))
        return True


def _is_part(name: str) -> bool:
    return name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX)


def partition(path: str, key: str) -> str | None:
    """The value of the ``key=`` folder a file sits in, None when it sits in none."""
    for segment in reversed(path.split("/")[:-1]):
        if segment.startswith(f"{key}="):
            return segment.removeprefix(f"{key}=")
    return None


def partition_day(path: str) -> date | None:
    """The ``day=`` partition of a file as a date; None when absent or not a date."""
    text = partition(path, "day")
    try:
        return None if text is None else date.fromisoformat(text)
    except ValueError:
        return None


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove the day/version/model folders emptied by retention (not ``predictions/`` itself)."""
    while root in folder.parent.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
