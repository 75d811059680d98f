"""The artifact store: version folders a person can read, written by stage-then-rename.

Layout: ``<root>/models/<name>/v<version>/`` holding the model file(s), the input example,
any extras and ``metadata.json``. Files are written into a local staging folder first and
hashed there; :meth:`ArtifactStore.publish` moves the folder into place while the caller holds
the catalog lock, and the catalog row that makes it visible commits after that.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.errors import NotFound
from ferry.registry.refs import Version

STAGING_DIR = ".staging"
METADATA_FILE = "metadata.json"
EXAMPLE_FILE = "input_example.json"


@dataclass(frozen=True)
class ArtifactFile:
    """One stored file: its path inside the version folder, sha256 and size."""

    file: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        """The form recorded in ``metadata.json``."""
        return {"file": self.file, "sha256": self.sha256, "bytes": self.bytes}


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of in-memory bytes (the same bytes that are then deserialised)."""
    return hashlib.sha256(data).hexdigest()


def describe_files(folder: Path) -> list[ArtifactFile]:
    """Hash every file under ``folder``, fsyncing each so a rename publishes durable bytes."""
    described = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            os.fsync(handle.fileno())
        relative = path.relative_to(folder).as_posix()
        described.append(ArtifactFile(relative, digest, path.stat().st_size))
    return described


def version_folder(name: str, version: Version) -> str:
    """``models/<name>/v<version>``: the relative location of one version."""
    return f"models/{name}/v{version}"


class ArtifactStore(ABC):
    """Where published version folders live; the catalog decides which of them exist."""

    root: str

    @abstractmethod
    def publish(self, staged: Path, name: str, version: Version) -> None:
        """Move a staged folder into place, replacing a leftover no catalog row claims."""

    @abstractmethod
    def read(self, name: str, version: Version, file: str) -> bytes:
        """The bytes of one file of a version; :class:`NotFound` when it is missing."""

    @abstractmethod
    def remove(self, name: str, version: Version) -> None:
        """Delete a version folder (absent is fine)."""

    @abstractmethod
    def folders(self) -> dict[str, list[str]]:
        """``{model: [folder names]}`` of everything on disk, for verify and cleaning."""

    def staging_area(self, home: Path) -> Path:
        """Where registrations stage their files: beside the versions when the store is a
        local folder (so publishing is a same-disk rename), else under ``home``."""
        return home / STAGING_DIR

    def location(self, name: str, version: Version) -> str:
        """Where a version's folder lives, for people and logs."""
        return f"{self.root.rstrip('/')}/{version_folder(name, version)}"


class LocalArtifactStore(ArtifactStore):
    """A folder on this machine; publishing is one ``rename``."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self._root = root

    def _folder(self, name: str, version: Version) -> Path:
        return self._root / version_folder(name, version)

    def staging_area(self, home: Path) -> Path:
        return self._root / STAGING_DIR

    def publish(self, staged: Path, name: str, version: Version) -> None:
        target = self._folder(name, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
        _fsync_dir(target.parent)

    def read(self, name: str, version: Version, file: str) -> bytes:
        try:
            return (self._folder(name, version) / file).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"artifact {file!r} of {name}:{version} is missing from {self.root}"
            ) from None

    def remove(self, name: str, version: Version) -> None:
        shutil.rmtree(self._folder(name, version), ignore_errors=True)

    def folders(self) -> dict[str, list[str]]:
        models = self._root / "models"
        if not models.is_dir():
            return {}
        return {
            model.name: sorted(child.name for child in model.iterdir() if child.is_dir())
            for model in sorted(models.iterdir())
            if model.is_dir()
        }


class FsspecArtifactStore(ArtifactStore):
    """Any fsspec URL (``s3://bucket/prefix``, ``gcs://``, ``memory://``...)."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        import fsspec

        self.root = url
        self._fs, self._base = fsspec.core.url_to_fs(url, **dict(storage_options or {}))

    def _path(self, name: str, version: Version, file: str = "") -> str:
        folder = f"{self._base.rstrip('/')}/{version_folder(name, version)}"
        return f"{folder}/{file}" if file else folder

    def publish(self, staged: Path, name: str, version: Version) -> None:
        self.remove(name, version)
        for path in sorted(p for p in staged.rglob("*") if p.is_file()):
            relative = path.relative_to(staged).as_posix()
            self._fs.pipe_file(self._path(name, version, relative), path.read_bytes())

    def read(self, name: str, version: Version, file: str) -> bytes:
        try:
            data: bytes = self._fs.cat_file(self._path(name, version, file))
        except FileNotFoundError:
            raise NotFound(
                f"artifact {file!r} of {name}:{version} is missing from {self.root}"
            ) from None
        return data

    def remove(self, name: str, version: Version) -> None:
        path = self._path(name, version)
        if self._fs.exists(path):
            self._fs.rm(path, recursive=True)

    def folders(self) -> dict[str, list[str]]:
        models = f"{self._base.rstrip('/')}/models"
        if not self._fs.exists(models):
            return {}
        found: dict[str, list[str]] = {}
        for model in sorted(self._fs.ls(models, detail=False)):
            if self._fs.isdir(model):
                children = self._fs.ls(model, detail=False)
                found[model.rstrip("/").rsplit("/", 1)[-1]] = sorted(
                    child.rstrip("/").rsplit("/", 1)[-1] for child in children
                )
        return found


def open_store(url: str, storage_options: Mapping[str, Any] | None = None) -> ArtifactStore:
    """A local store for plain paths and ``file://``; fsspec for every other URL, with
    ``storage_options`` (endpoint, credentials: ``ferry.config.storage_options``)."""
    if "://" not in url or url.startswith("file://"):
        return LocalArtifactStore(Path(url.removeprefix("file://")).expanduser())
    return FsspecArtifactStore(url, storage_options)


def write_durably(path: Path, data: bytes) -> None:
    """Write and fsync, so a rename that follows publishes bytes that are on disk."""
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@contextmanager
def staging(area: Path) -> Iterator[Path]:
    """A fresh local folder in the staging ``area``, locked while this process lives.

    The lock (``flock`` on a sibling file) tells :func:`clean_staging` which folders belong to a
    registration still running and which were left by a process that died.
    """
    area.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    folder = area / token
    with (area / f"{token}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            (area / f"{token}.lock").unlink(missing_ok=True)


def clean_staging(area: Path) -> list[str]:
    """Remove staging folders whose registering process is gone; return what was removed."""
    if not area.is_dir():
        return []
    removed = []
    for lock_path in sorted(area.glob("*.lock")):
        with lock_path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            folder = lock_path.with_suffix("")
            shutil.rmtree(folder, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            removed.append(str(folder))
    for folder in area.iterdir():
        if folder.is_dir() and not folder.with_suffix(".lock").exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
