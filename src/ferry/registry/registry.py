"""Registry: register, resolve, load, alias, roll back, retain and verify model versions."""

from __future__ import annotations

import getpass
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ferry.config import RegistrySettings
from ferry.errors import Conflict, IntegrityError, InvalidInput, NotFound
from ferry.flavors import flavor_for, flavor_named
from ferry.flavors.base import model_files
from ferry.flavors.declared import Declared
from ferry.registry import maintenance
from ferry.registry.artifacts import (
    EXAMPLE_FILE,
    METADATA_FILE,
    ArtifactStore,
    describe_files,
    open_store,
    sha256_bytes,
    staging,
    write_durably,
)
from ferry.registry.catalog import Catalog, utcnow
from ferry.registry.catalog_session import AliasMove, CatalogSession, VersionRecord
from ferry.registry.compat import backend_of, check, warn_python
from ferry.registry.history import rollback_target
from ferry.registry.loaded import LoadedModel
from ferry.registry.numbering import allocate
from ferry.registry.refs import ModelRef, Version, check_alias, check_name
from ferry.registry.version import ModelVersion as ModelVersion  # re-exported

EXTRAS_DIR = "extras"
_EXTRA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Registry:
    """The model registry over a SQL catalog and an artifact store.

    ``Registry()`` reads ``FERRY_HOME`` (default ``~/.ferry``), ``FERRY_CATALOG`` (default
    SQLite at ``$FERRY_HOME/ferry.db``) and ``FERRY_ARTIFACTS`` (default ``$FERRY_HOME``).
    """

    def __init__(
        self,
        home: str | Path | None = None,
        catalog: str | None = None,
        artifacts: str | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        self.settings = RegistrySettings.resolve(home, catalog, artifacts)
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.settings.catalog_url)
        self.store: ArtifactStore = open_store(
            self.settings.artifacts_url, self.settings.storage_options
        )
        self.staging_area = self.store.staging_area(self.settings.home)
        self.actor = actor or getpass.getuser()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the catalog's connections."""
        self.catalog.close()

    # -- registration -------------------------------------------------------------------

    def register(
        self,
        model: Any,
        name: str,
        *,
        input_example: Any = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        training_data: Any = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        version: str | None = None,
        parent: str | None = None,
        serialization: str | None = None,
        extras: Mapping[str, str | Path] | None = None,
        task: str | None = None,
        outputs: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Save ``model`` as a new immutable version of ``name`` and return it.

        ``task`` and ``outputs`` declare what a model that cannot describe itself answers
        (an ONNX file: ``task="classifier", outputs={"label": "out", "probabilities": "p"}``).

        ``input_example`` (pandas, polars or numpy) fixes the input schema; without it the
        schema comes from the model's ``feature_names_in_``, ``n_features_in_`` or ONNX
        input, and the version's tags say so (``ferry.input_schema``). The files are written
        and hashed in a staging folder, moved into place under the catalog lock, and become
        visible only when the catalog row commits.
        """
        from ferry.frames import to_pandas  # pandas: registration only
        from ferry.registry.metadata import draft_metadata
        from ferry.registry.schema import (
            as_example,
            encode_example,
            example_from_model,
            is_text_series,
        )

        check_name(name)
        explicit = Version.parse(version) if version is not None else None
        parent_version = Version.parse(parent) if parent is not None else None
        flavor = flavor_for(model)
        declared = Declared.parse(task, outputs)
        input_example = to_pandas(input_example)  # polars and pyarrow, for every flavor
        prepare = getattr(flavor, "prepare", None)  # a framework saved in another form
        if callable(prepare):
            model, input_example = prepare(model, input_example, declared)
        if input_example is None:
            input_example, schema_source = example_from_model(model)
            tags = {
                "ferry.input_example": "synthesized",
                "ferry.input_schema": schema_source,
                **(tags or {}),
            }
        example = as_example(input_example)
        series = is_text_series(input_example)
        with staging(self.staging_area) as folder:
            saved = flavor.save(model, folder, serialization)
            (folder / EXAMPLE_FILE).write_bytes(encode_example(example))
            _copy_extras(extras or {}, folder / EXTRAS_DIR)
            draft = draft_metadata(
                name=name,
                saved=saved,
                flavor=flavor,
                model=model,
                example=example,
                series=series,
                declared=declared,
                metrics=metrics,
                params=params,
                training_data=training_data,
                description=description,
                tags=tags,
            )
            record = self._commit(folder, draft, explicit, parent_version)
        return self._version(record, {})

    def import_mlflow(
        self,
        source: str,
        *,
        name: str | None = None,
        tracking_uri: str | None = None,
        trust_pickle: bool = False,
        trusted: Sequence[str] = (),
        aliases: bool = False,
    ) -> ModelVersion:
        """Register a model logged with MLflow as a new version, with its lineage.

        ``source`` is an MLmodel folder, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or
        ``runs:/RUN_ID/PATH`` (these three read from ``tracking_uri``). ``aliases`` carries
        the MLflow version's aliases over. See :mod:`ferry.interop.mlflow`.
        """
        from ferry.interop.mlflow import import_mlflow  # mlflow: imports only

        return import_mlflow(
            self,
            source,
            name=name,
            tracking_uri=tracking_uri,
            trust_pickle=trust_pickle,
            trusted=trusted,
            aliases=aliases,
        )

    def _commit(
        self,
        folder: Path,
        draft: dict[str, Any],
        explicit: Version | None,
        parent: Version | None,
    ) -> VersionRecord:
        """Allocate the number, publish the folder and insert the row, under one lock."""
        from ferry.registry.metadata import encode_metadata

        name = draft["model_name"]
        artifacts = [entry.to_dict() for entry in describe_files(folder)]
        published: Version | None = None
        try:
            with self.catalog.writing(name) as session:
                number, parent_record = allocate(session, name, draft, explicit, parent)
                metadata = {
                    **draft,
                    "version": str(number),
                    "created_at": utcnow(),
                    "parent_version": str(parent_record.version) if parent_record else None,
                    "artifacts": artifacts,
                }
                encoded = encode_metadata(metadata)
                write_durably(folder / METADATA_FILE, encoded)
                self.store.publish(folder, name, number)
                published = number
                record = VersionRecord(
                    name,
                    number,
                    metadata["created_at"],
                    draft["flavor"],
                    metadata,
                    sha256_bytes(encoded),
                )
                session.insert_version(record)
                session.add_event(record.created_at, "registered", name, str(number), None)
        except BaseException:
            if published is not None:
                self.store.remove(name, published)
            raise
        return record

    # -- lookup -------------------------------------------------------------------------

    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version a reference means: ``name`` (latest), ``name:1.2.0`` or ``name@alias``."""
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        with self.catalog.reading() as session:
            record = _find(session, parsed)
            return self._version(record, session.aliases_of(parsed.name))

    get = resolve

    def list_models(self) -> list[dict[str, Any]]:
        """Every model with its latest version, version count and aliases."""
        with self.catalog.reading() as session:
            summaries = []
            for name in session.model_names():
                records = session.versions_of(name)
                summaries.append(
                    {
                        "name": name,
                        "latest": str(records[-1].version),
                        "versions": len(records),
                        "aliases": session.aliases_of(name),
                        "updated_at": max(record.created_at for record in records),
                    }
                )
            return summaries

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first; :class:`NotFound` for an unknown model."""
        check_name(name)
        with self.catalog.reading() as session:
            records = session.versions_of(name)
            if not records:
                raise NotFound(f"no model named {name!r}: register one first")
            aliases = session.aliases_of(name)
            return [self._version(record, aliases) for record in records]

    # -- aliases ------------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: str, reason: str | None = None
    ) -> AliasMove | None:
        """Point ``alias`` at ``version`` and record the move; None when it already did.

        The target's files are re-hashed first: an alias never moves onto a version that
        could not be served (:class:`IntegrityError` naming the file, alias unchanged).
        """
        check_name(name)
        check_alias(alias)
        target = Version.parse(version)
        with self.catalog.writing(name) as session:
            record = session.version(name, target)
            if record is None:
                raise NotFound(
                    f"{name}:{target} does not exist; see `ferry models versions {name}`"
                )
            current = session.alias_target(name, alias)
            if current == str(target):
                return None
            self._verified_files(record, action=f"refusing to point {alias!r} at it")
            move = AliasMove(alias, "set", current, str(target), utcnow(), self.actor, reason)
            session.move_alias(name, move)
            return move

    def alias_history(
        self, name: str, alias: str | None = None, newest: int | None = None
    ) -> list[AliasMove]:
        """Every recorded move of ``name``'s aliases (or of one alias), oldest first; only the
        ``newest`` few when given."""
        check_name(name)
        if alias is not None:
            check_alias(alias)
        with self.catalog.reading() as session:
            return session.alias_moves(name, alias, newest)

    def rollback(
        self, name: str, alias: str = "production", reason: str | None = None
    ) -> AliasMove:
        """Move ``alias`` back to its previous target, once that target still verifies."""
        check_name(name)
        check_alias(alias)
        with self.catalog.writing(name) as session:
            current = session.alias_target(name, alias)
            if current is None:
                raise NotFound(f"{name} has no alias {alias!r} to roll back")
            exists = {str(record.version): record for record in session.versions_of(name)}
            target = rollback_target(session.alias_moves(name, alias), exists.__contains__)
            if target is None:
                raise Conflict(f"{name}@{alias} has no earlier version to roll back to")
            self._verified_files(exists[target], action=f"refusing to point {alias!r} at it")
            move = AliasMove(alias, "rollback", current, target, utcnow(), self.actor, reason)
            session.move_alias(name, move)
            return move

    # -- loading ------------------------------------------------------------------------

    def load(
        self, ref: str | ModelRef, *, strict: bool = False, compat: str | None = None
    ) -> LoadedModel:
        """Load a version into memory after checking every file's hash against the catalog.

        Its recorded library versions are compared with the installed ones first: another
        major.minor warns (:class:`CompatibilityWarning`), or refuses when ``strict``;
        ``compat`` (``strict``, ``warn`` or ``off``, as ``FERRY_COMPAT``) overrides ``strict``.
        """
        record = self._record(ref)
        metadata = record.metadata
        reference = f"{record.name}:{record.version}"
        files = self._verified_files(record, *model_files(metadata["loader"]))
        graph = files[metadata["loader"]["file"]] if backend_of(metadata) == "onnx" else None
        mode = compat or ("strict" if strict else "warn")
        warn_python(check(reference, metadata, mode, graph=graph))
        predictor = flavor_named(record.flavor).load(files, metadata["loader"])
        return LoadedModel(record.name, str(record.version), metadata, predictor)

    def input_example(self, ref: str | ModelRef) -> Any:
        """The stored input example (a DataFrame or an array), hash-verified."""
        from ferry.registry.schema import decode_example

        record = self._record(ref)
        data = self._verified_files(record, EXAMPLE_FILE)[EXAMPLE_FILE]
        return decode_example(data, record.metadata["input_schema"])

    def read_artifact(self, ref: str | ModelRef, filename: str) -> bytes:
        """The verified bytes of one file of a version (extras may omit the ``extras/`` prefix)."""
        record = self._record(ref)
        recorded = {entry["file"] for entry in record.metadata["artifacts"]}
        for candidate in (filename, f"{EXTRAS_DIR}/{filename}"):
            if candidate in recorded:
                return self._verified_files(record, candidate)[candidate]
        raise NotFound(f"{record.name}:{record.version} has no file {filename!r}")

    def _record(self, ref: str | ModelRef) -> VersionRecord:
        """The catalog record a reference names (one read transaction)."""
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        with self.catalog.reading() as session:
            return _find(session, parsed)

    def _verified_files(
        self, record: VersionRecord, *only: str, action: str = "refusing to load it"
    ) -> dict[str, bytes]:
        """Read a version's files and refuse with :class:`IntegrityError` on any mismatch
        or missing file; ``action`` says what was refused."""
        files = {}
        advice = "run `ferry verify` and restore or delete the version"
        for entry in record.metadata["artifacts"]:
            if only and entry["file"] not in only:
                continue
            try:
                data = self.store.read(record.name, record.version, entry["file"])
            except NotFound as missing:
                raise IntegrityError(f"{missing}: {action}; {advice}") from None
            actual = sha256_bytes(data)
            if actual != entry["sha256"]:
                raise IntegrityError(
                    f"{record.name}:{record.version} file {entry['file']!r} has sha256 "
                    f"{actual[:12]}..., the registry recorded {entry['sha256'][:12]}...: "
                    f"{action}; {advice}"
                )
            files[entry["file"]] = data
        return files

    # -- removal and upkeep -------------------------------------------------------------

    def delete_version(self, ref: str | ModelRef) -> ModelVersion:
        """Delete one version; refused while an alias points at it."""
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        if parsed.is_latest:
            raise InvalidInput(f"name the version to delete, e.g. {parsed.name}:1.0.0")
        with self.catalog.writing(parsed.name) as session:
            record = _find(session, parsed)
            aliases = session.aliases_of(parsed.name)
            users = sorted(
                alias for alias, target in aliases.items() if target == str(record.version)
            )
            if users:
                raise Conflict(
                    f"{record.name}:{record.version} is the target of alias(es) {users}; "
                    "move them first with `ferry promote`"
                )
            session.delete_version(record.name, record.version)
            session.add_event(utcnow(), "deleted", record.name, str(record.version), None)
            # Under the lock: a registration that reuses this number cannot publish meanwhile.
            self.store.remove(record.name, record.version)
        return self._version(record, {})

    def retain(self, name: str, keep: int) -> maintenance.RetainResult:
        """Keep the newest ``keep`` versions, every alias target and each alias's rollback
        target; delete the rest and clean leftovers."""
        return maintenance.retain(self, check_name(name), keep)

    def verify(self) -> maintenance.VerifyReport:
        """Re-hash every artifact, check catalog against folders, and clean leftovers."""
        return maintenance.verify(self)

    def _version(self, record: VersionRecord, aliases: Mapping[str, str]) -> ModelVersion:
        mine = tuple(
            sorted(alias for alias, target in aliases.items() if target == str(record.version))
        )
        return ModelVersion(
            name=record.name,
            version=str(record.version),
            created_at=record.created_at,
            metadata=record.metadata,
            aliases=mine,
            location=self.store.location(record.name, record.version),
        )


def _find(session: CatalogSession, ref: ModelRef) -> VersionRecord:
    """The record a parsed reference names, or :class:`NotFound` saying what exists."""
    if ref.alias is not None:
        target = session.alias_target(ref.name, ref.alias)
        if target is None:
            raise NotFound(f"{ref} does not exist: no alias {ref.alias!r} on model {ref.name!r}")
        record = session.version(ref.name, Version.parse(target))
    elif ref.version is not None:
        record = session.version(ref.name, ref.version)
    else:
        record = session.latest(ref.name)
    if record is None:
        raise NotFound(f"{ref} does not exist; see `ferry models list`")
    return record


def _copy_extras(extras: Mapping[str, str | Path], folder: Path) -> None:
    """Copy extra files (e.g. a drift profile) into the staged version under ``extras/``."""
    for name, source in extras.items():
        if not _EXTRA_NAME.match(name):
            raise InvalidInput(f"invalid extra file name {name!r}: letters, digits, '.', '_', '-'")
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"extra {name!r}: {str(path)!r} is not a file")
        folder.mkdir(exist_ok=True)
        shutil.copyfile(path, folder / name)
