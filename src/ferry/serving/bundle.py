"""Baked bundles: one verified version, its compiled graph and their hashes in one folder, served
with no catalog and no registry (``ferry bake REF --output DIR``, ``ferry serve --bundle DIR``).

The folder is laid out as the loader's cache, so a server started from it fetches and compiles
nothing, and every file is still checked against its sha256 before it is used::

    bundle.json            what was baked (reference, aliases, when, by which ferry) and the
                           sha256 of every other file; its presence marks a folder ferry wrote
    metadata.json          the version's metadata: input schema, artifacts with their sha256 ...
    artifacts/<sha256>     every artifact of the version, named by its hash
    compiled/<key>.onnx    the compiled graph, bound to its source artifact (when it compiles)
    compiled/<key>.json    its record
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry import __version__
from ferry.config import RegistrySettings, ServingSettings
from ferry.errors import IntegrityError, InvalidInput, NotFound
from ferry.registry.refs import ModelRef
from ferry.registry.version import ModelVersion
from ferry.serving.cache import ModelCache
from ferry.serving.loader import LoadedVersion, ModelLoader

if TYPE_CHECKING:
    from ferry.registry.registry import Registry

BUNDLE_FILE = "bundle.json"
METADATA_FILE = "metadata.json"
FORMAT = 1
"""The bundle layout version written into ``bundle.json``."""


@dataclass(frozen=True)
class Baked:
    """The outcome of a bake: where, which version, and how it will be served."""

    folder: Path
    reference: str
    backend: str
    files: int
    note: str | None


def bake(registry: Registry, ref: str, output: Path, settings: ServingSettings) -> Baked:
    """Write ``ref``'s verified version, compiled and warmed up once, as a bundle at ``output``.

    The bundle is written beside ``output`` and renamed into place: a failed bake leaves
    ``output`` as it was. ``output`` must be new, empty, or a bundle ferry wrote.
    """
    version = registry.resolve(ref)
    output = output.expanduser().absolute()
    _check_target(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.baking-", dir=output.parent))
    try:
        cache = ModelCache(staging)
        for entry in version.metadata["artifacts"]:  # read_artifact verifies each hash
            cache.store_artifact(
                entry["sha256"], registry.read_artifact(version.reference, entry["file"])
            )
        loaded = ModelLoader(registry, cache, settings).load(version)
        files = _write_description(staging, version, loaded)
        _publish(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Baked(output, version.reference, loaded.runner.backend, files, loaded.compile_note)


class Bundle:
    """A baked bundle opened for serving: it resolves only the version baked into it and reads
    its artifacts by hash, refusing any file that no longer matches.

    ``settings`` says where this process keeps what it writes (the prediction log): a bundle is
    read-only.
    """

    def __init__(self, root: Path, settings: RegistrySettings) -> None:
        self.root = root.expanduser().absolute()
        self.settings = settings
        self.description = _read_description(self.root)
        try:
            metadata_bytes = (self.root / METADATA_FILE).read_bytes()
        except FileNotFoundError:
            raise IntegrityError(
                f"{METADATA_FILE} is missing from the bundle at {self.root}: bake it again"
            ) from None
        _check_hash(self.root, METADATA_FILE, metadata_bytes, self.description["files"])
        metadata: dict[str, Any] = json.loads(metadata_bytes)
        self.version = ModelVersion(
            name=metadata["model_name"],
            version=metadata["version"],
            created_at=metadata["created_at"],
            metadata=metadata,
            aliases=tuple(self.description.get("aliases", ())),
            location=str(self.root),
        )

    @property
    def reference(self) -> str:
        """``name:version`` of the baked version."""
        return self.version.reference

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The baked version, when ``ref`` names it (by name, its version, or an alias it had)."""
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        version = self.version
        if (
            parsed.name != version.name
            or (parsed.version is not None and str(parsed.version) != version.version)
            or (parsed.alias is not None and parsed.alias not in version.aliases)
        ):
            aliases = ", ".join(f"@{alias}" for alias in version.aliases) or "no alias"
            raise NotFound(
                f"{parsed} is not in the bundle at {self.root}: it holds {version.reference} "
                f"({aliases})"
            )
        return version

    def read_artifact(self, ref: str | ModelRef, filename: str) -> bytes:
        """The verified bytes of one artifact of the baked version."""
        version = self.resolve(ref)
        recorded = {entry["file"]: entry["sha256"] for entry in version.metadata["artifacts"]}
        if filename not in recorded:
            raise NotFound(f"{version.reference} has no file {filename!r}")
        path: Path = self.root / "artifacts" / recorded[filename]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(
                f"{version.reference} file {filename!r} is missing from the bundle at "
                f"{self.root}: refusing to serve it; bake the bundle again"
            ) from None
        if hashlib.sha256(data).hexdigest() != recorded[filename]:
            raise IntegrityError(
                f"{version.reference} file {filename!r} in the bundle at {self.root} does not "
                "match its recorded sha256: refusing to serve it; bake the bundle again"
            )
        return data


def _write_description(staging: Path, version: ModelVersion, loaded: LoadedVersion) -> int:
    """Write ``metadata.json`` and ``bundle.json`` (hashes of every file); returns the count."""
    metadata = json.dumps(version.metadata, indent=2, sort_keys=True).encode()
    (staging / METADATA_FILE).write_bytes(metadata)
    files = {
        path.relative_to(staging).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(staging.rglob("*"))
        if path.is_file()
    }
    description = {
        "ferry_bundle": FORMAT,
        "reference": version.reference,
        "aliases": list(version.aliases),
        "baked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ferry_version": __version__,
        "backend": loaded.runner.backend,
        "compile_note": loaded.compile_note,
        "files": files,
    }
    (staging / BUNDLE_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return len(files) + 1


def _read_description(root: Path) -> dict[str, Any]:
    """``bundle.json`` of a folder, or :class:`InvalidInput` saying it is not a bundle."""
    try:
        description = json.loads((root / BUNDLE_FILE).read_text())
    except FileNotFoundError:
        raise InvalidInput(
            f"{root} is not a ferry bundle (no {BUNDLE_FILE}); make one with "
            "`ferry bake REF --output DIR`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{root / BUNDLE_FILE} is not valid JSON: {error}") from None
    if not isinstance(description, dict) or description.get("ferry_bundle") != FORMAT:
        raise InvalidInput(
            f"{root / BUNDLE_FILE} is not a ferry bundle of format {FORMAT}; bake it again"
        )
    if not isinstance(description.get("files"), dict):
        raise InvalidInput(f"{root / BUNDLE_FILE} lists no files; bake it again")
    return description


def _check_hash(root: Path, name: str, data: bytes, files: dict[str, str]) -> None:
    if hashlib.sha256(data).hexdigest() != files.get(name):
        raise IntegrityError(
            f"{name} in the bundle at {root} does not match its recorded sha256: refusing to "
            "serve it; bake the bundle again"
        )


def _check_target(output: Path) -> None:
    """Refuse an ``output`` holding anything ferry did not write there."""
    if not output.exists():
        return
    if not output.is_dir():
        raise InvalidInput(f"{output} exists and is not a folder: choose a new or empty folder")
    if not any(output.iterdir()):
        return
    if not (output / BUNDLE_FILE).is_file():
        raise InvalidInput(
            f"{output} is not empty and is not a ferry bundle: refusing to write into it; "
            "choose a new or empty folder"
        )
    listed = set(_read_description(output)["files"]) | {BUNDLE_FILE, "artifacts", "compiled"}
    foreign = sorted({p.relative_to(output).as_posix() for p in output.rglob("*")} - listed)
    if foreign:
        raise InvalidInput(
            f"{output} is a ferry bundle that also holds files ferry did not write "
            f"({', '.join(foreign[:5])}): refusing to replace it; move them or choose another folder"
        )


def _publish(staging: Path, output: Path) -> None:
    """Rename the finished bundle into place; an older bundle there is removed only after."""
    if output.is_dir() and not any(output.iterdir()):
        output.rmdir()
    if not output.exists():
        staging.rename(output)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
    retired.rmdir()
    output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)
