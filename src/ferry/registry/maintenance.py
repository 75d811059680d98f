"""Upkeep of a registry: retention and verification, both of which also clean leftovers.

Leftovers are what a crash can leave behind: staging folders of a registration that died, and
published folders whose catalog row never committed. Neither is visible to users; both are
removed here under the model's catalog lock, so a registration in progress is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferry.errors import FerryError, InvalidInput
from ferry.registry.artifacts import METADATA_FILE, clean_staging, sha256_bytes
from ferry.registry.catalog import utcnow
from ferry.registry.catalog_session import CatalogSession, VersionRecord
from ferry.registry.history import rollback_target
from ferry.registry.refs import NAME_PATTERN, Version

if TYPE_CHECKING:
    from ferry.registry.registry import Registry


@dataclass
class RetainResult:
    """What :meth:`Registry.retain` kept, deleted and cleaned."""

    kept: list[str]
    deleted: list[str]
    cleaned: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kept": self.kept, "deleted": self.deleted, "cleaned": self.cleaned}


@dataclass
class VerifyReport:
    """The outcome of :meth:`Registry.verify`: problems found and leftovers removed."""

    versions: int = 0
    files: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every version's files are present and match their hashes."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "versions": self.versions,
            "files": self.files,
            "problems": self.problems,
            "cleaned": self.cleaned,
        }


def retain(registry: Registry, name: str, keep: int) -> RetainResult:
    """Delete every version of ``name`` that is neither among the newest ``keep`` nor protected."""
    if not isinstance(keep, int) or keep < 0:
        raise InvalidInput(f"keep must be a whole number >= 0, got {keep!r}")
    with registry.catalog.writing(name) as session:
        records = session.versions_of(name)
        protected = _protected(session, name, records)
        newest = {str(record.version) for record in records[-keep:]} if keep else set()
        doomed = [r for r in records if str(r.version) not in newest | protected]
        cleaned = _clean_orphans(registry, session, name)
        for record in doomed:
            session.delete_version(name, record.version)
            registry.store.remove(name, record.version)  # under the lock, like delete_version
        deleted = [str(record.version) for record in doomed]
        if deleted:
            session.add_event(utcnow(), "retained", name, None, {"deleted": deleted})
    cleaned += clean_staging(registry.staging_area)
    kept = [str(r.version) for r in records if r not in doomed]
    return RetainResult(kept=kept, deleted=deleted, cleaned=cleaned)


def _protected(session: CatalogSession, name: str, records: list[VersionRecord]) -> set[str]:
    """Alias targets now and where each alias would roll back to: serving and rollback need them."""
    existing = {str(record.version) for record in records}
    aliases = session.aliases_of(name)
    protected = set(aliases.values())
    for alias in aliases:
        target = rollback_target(session.alias_moves(name, alias), existing.__contains__)
        if target is not None:
            protected.add(target)
    return protected


def _clean_orphans(registry: Registry, session: CatalogSession, name: str) -> list[str]:
    """Remove published folders of ``name`` that no committed row claims (lock held)."""
    claimed = {f"v{record.version}" for record in session.versions_of(name)}
    cleaned = []
    for folder in registry.store.folders().get(name, []):
        if folder in claimed or not folder.startswith("v"):
            continue
        try:
            version = Version.parse(folder[1:])
        except InvalidInput:
            continue
        registry.store.remove(name, version)
        cleaned.append(registry.store.location(name, version))
    return cleaned


def verify(registry: Registry) -> VerifyReport:
    """Check every version's files and metadata against the catalog; clean leftovers."""
    report = VerifyReport(cleaned=clean_staging(registry.staging_area))
    on_disk = registry.store.folders()
    with registry.catalog.reading() as session:
        names = set(session.model_names())
    for name in sorted(names | {n for n in on_disk if NAME_PATTERN.match(n)}):
        with registry.catalog.writing(name) as session:
            report.cleaned += _clean_orphans(registry, session, name)
            records = session.versions_of(name)
        for record in records:
            _check_version(registry, record, report)
    return report


def _check_version(registry: Registry, record: VersionRecord, report: VerifyReport) -> None:
    """Add one problem per missing or altered file of ``record``."""
    report.versions += 1
    expected = {entry["file"]: entry["sha256"] for entry in record.metadata["artifacts"]}
    expected[METADATA_FILE] = record.metadata_sha256
    for file, sha256 in sorted(expected.items()):
        report.files += 1
        try:
            actual = sha256_bytes(registry.store.read(record.name, record.version, file))
        except FerryError:
            problem = "missing"
        else:
            problem = "" if actual == sha256 else "sha256 mismatch"
        if problem:
            report.problems.append(
                {
                    "model": record.name,
                    "version": str(record.version),
                    "file": file,
                    "problem": problem,
                }
            )
