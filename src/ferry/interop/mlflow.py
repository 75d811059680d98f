"""Bring a model logged with MLflow into the registry (``ferry import mlflow``).

The model comes in as ferry would have saved it: skops or ONNX files are read with ferry's own
safety rules, a pickle only when the caller trusts it (and it is then re-saved as skops and
hash-verified like every version). The MLflow signature becomes the input schema, the input
example is read in whatever orient MLflow wrote it, and the run's metrics, params and tags, the
run id and the source URI are recorded with the version, so its lineage survives the move.
mlflow is imported only here, and only when an import runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import InvalidInput, NotFound
from ferry.interop.examples import decode_example
from ferry.interop.signature import apply_signature, example_from_signature, parse_inputs
from ferry.registry.refs import check_alias, check_name

if TYPE_CHECKING:
    from ferry.registry.registry import ModelVersion, Registry

URI_SCHEMES = ("models:/", "runs:/")
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))/?$")
_SKIPPED_RUN_TAGS = ("mlflow.log-model.history",)


@dataclass(frozen=True)
class Origin:
    """Where an imported model came from: the downloaded folder and what MLflow knows of it."""

    source: str
    folder: Path
    registered: str | None = None
    """``name/version`` in MLflow's model registry, for ``models:/`` sources."""
    description: str = ""
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """The MLflow run that logged the model: its metrics, params and tags."""

    run_id: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


def import_mlflow(
    registry: Registry,
    source: str,
    *,
    name: str | None = None,
    tracking_uri: str | None = None,
    trust_pickle: bool = False,
    trusted: Sequence[str] = (),
    aliases: bool = False,
) -> ModelVersion:
    """Register the MLflow model ``source`` names as a new version; see the module docstring."""
    mlflow = _import_mlflow()
    with (
        tempfile.TemporaryDirectory(prefix="ferry-mlflow-") as scratch,
        _using(mlflow, tracking_uri),
    ):
        origin = _fetch(mlflow, source, tracking_uri, Path(scratch))
        target = check_name(name or _default_name(origin))
        carried = _carried_aliases(origin) if aliases else ()
        mlmodel = mlflow.models.Model.load(str(origin.folder / "MLmodel")).to_dict()
        model, model_file = _read_model(origin.folder, mlmodel, trust_pickle, list(trusted))
        example, synthesized = _example(origin.folder, mlmodel)
        run = _run(
            mlflow, mlmodel.get("run_id"), tracking_uri, required=source.startswith(URI_SCHEMES)
        )
        created = registry.register(
            model,
            target,
            input_example=example,
            metrics=run.metrics if run else None,
            params=(run.params or None) if run else None,
            description=origin.description or f"imported from MLflow {source}",
            tags=_tags(origin, mlmodel, run, model_file, synthesized),
        )
    for alias in carried:
        registry.set_alias(created.name, alias, created.version, f"carried from MLflow {source}")
    return registry.resolve(created.reference) if carried else created


def _import_mlflow() -> Any:
    try:
        import mlflow
        import mlflow.artifacts
        import mlflow.models
    except ImportError:
        raise InvalidInput(
            "importing from MLflow needs the mlflow package: pip install 'ferry[mlflow]'"
        ) from None
    return mlflow


@contextmanager
def _using(mlflow: Any, tracking_uri: str | None) -> Iterator[None]:
    """Point mlflow at ``tracking_uri`` (tracking and model registry) for the import only.

    mlflow resolves ``models:/`` and ``runs:/`` URIs through its process-wide URIs whatever
    client is passed, so they are set here and put back as they were afterwards.
    """
    if tracking_uri is None:
        yield
        return
    from mlflow.tracking._model_registry import utils as registry_uris
    from mlflow.tracking._tracking_service import utils as tracking_uris

    saved = tracking_uris._tracking_uri, registry_uris._registry_uri
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        tracking_uris._tracking_uri, registry_uris._registry_uri = saved


def _fetch(mlflow: Any, source: str, tracking_uri: str | None, scratch: Path) -> Origin:
    """The model's folder: the one given, or downloaded from the tracking store."""
    if not source.startswith(URI_SCHEMES):
        return Origin(source, _local_folder(source))
    if tracking_uri is None:
        raise InvalidInput(
            f"{source} names a model in an MLflow tracking store: set MLFLOW_TRACKING_URI "
            "(or pass --tracking-uri) to say which"
        )
    origin = Origin(source, scratch)
    if source.startswith("models:/"):
        origin = _registered(mlflow, source, tracking_uri)
    try:
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=scratch))
    except mlflow.exceptions.MlflowException as error:
        raise NotFound(f"MLflow could not fetch {source}: {error.message}") from None
    if not (folder / "MLmodel").is_file():
        raise InvalidInput(f"{source} is not an MLflow model: it has no MLmodel file")
    return replace(origin, folder=folder)


def _local_folder(source: str) -> Path:
    path = Path(source)
    folder = path.parent if path.name == "MLmodel" else path
    if not (folder / "MLmodel").is_file():
        raise InvalidInput(
            f"{source!r} is not an MLflow model: give a folder holding an MLmodel file, "
            "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"
        )
    return folder


def _registered(mlflow: Any, source: str, tracking_uri: str) -> Origin:
    """The MLflow model version a ``models:/`` URI names, with its aliases and tags."""
    match = _MODEL_URI.match(source)
    if match is None:
        raise InvalidInput(f"{source!r}: use models:/NAME/VERSION or models:/NAME@ALIAS")
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        if match["alias"]:
            found = client.get_model_version_by_alias(match["name"], match["alias"])
        else:
            found = client.get_model_version(match["name"], match["version"])
    except mlflow.exceptions.MlflowException as error:
        raise NotFound(f"MLflow has no {source}: {error.message}") from None
    return Origin(
        source,
        Path(),  # known once downloaded
        registered=f"{found.name}/{found.version}",
        description=found.description or "",
        aliases=tuple(found.aliases or ()),
        tags={str(key): str(value) for key, value in (found.tags or {}).items()},
    )


def _default_name(origin: Origin) -> str:
    if origin.registered is None:
        raise InvalidInput(f"name the model ferry registers {origin.source!r} as: pass --name NAME")
    raw = origin.registered.rsplit("/", 1)[0].lower()
    return re.sub(r"[^a-z0-9_-]+", "-", raw).strip("-_") or "model"


def _carried_aliases(origin: Origin) -> tuple[str, ...]:
    """The MLflow aliases to carry, checked before anything is registered."""
    if origin.registered is None:
        raise InvalidInput("--aliases needs a models:/ source: only registered versions have any")
    for alias in origin.aliases:
        try:
            check_alias(alias)
        except InvalidInput as error:
            raise InvalidInput(f"MLflow alias {alias!r} cannot be carried: {error}") from None
    return origin.aliases


def _read_model(
    folder: Path, mlmodel: dict[str, Any], trust_pickle: bool, trusted: list[str]
) -> tuple[Any, Path]:
    """The model object from its ONNX or scikit-learn flavor files."""
    from ferry.cli.model_files import read_model

    flavors = mlmodel.get("flavors") or {}
    if "onnx" in flavors:
        path = folder / str(flavors["onnx"]["data"])
    elif "sklearn" in flavors:
        path = _sklearn_file(folder, flavors["sklearn"], trust_pickle)
    else:
        raise InvalidInput(
            f"ferry imports MLflow's sklearn and onnx flavors; this model has {sorted(flavors)}"
        )
    return read_model(path, trust_pickle=trust_pickle, trusted=trusted), path


def _sklearn_file(folder: Path, flavor: dict[str, Any], trust_pickle: bool) -> Path:
    path = folder / str(flavor["pickled_model"])
    serialization = flavor.get("serialization_format", "cloudpickle")
    if serialization == "skops":
        return path
    if not trust_pickle:
        raise InvalidInput(
            f"this MLflow model is saved with {serialization}, which runs code when loaded: "
            "pass --trust-pickle if it comes from you (ferry re-saves it as skops), or log it "
            "with serialization_format='skops'"
        )
    return path


def _example(folder: Path, mlmodel: dict[str, Any]) -> tuple[Any, bool]:
    """The input example in the signature's types; one built from the signature if none."""
    specs = parse_inputs((mlmodel.get("signature") or {}).get("inputs"))
    info = mlmodel.get("saved_input_example_info") or {}
    if "artifact_path" in info:
        payload = json.loads((folder / info["artifact_path"]).read_text())
        if isinstance(payload, dict) and set(payload) == {"inputs", "params"}:
            payload = payload["inputs"]
        return apply_signature(decode_example(payload, info.get("pandas_orient")), specs), False
    built = example_from_signature(specs)
    if built is None:
        raise InvalidInput(
            "this MLflow model has neither an input example nor a signature: log it with "
            "input_example=... so ferry knows its inputs"
        )
    return built, True


def _run(
    mlflow: Any, run_id: str | None, tracking_uri: str | None, *, required: bool
) -> RunRecord | None:
    """The logging run's record; None without a run id or a tracking store to ask, or when a
    folder's run is not in this store (the folder may come from another one)."""
    if not run_id or tracking_uri is None:
        return None
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    try:
        run = client.get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        if required:
            raise NotFound(f"MLflow run {run_id}: {error.message}") from None
        return None
    return RunRecord(
        run_id,
        {key: value for key, value in run.data.metrics.items() if math.isfinite(value)},
        {str(key): str(value) for key, value in run.data.params.items()},
        {
            str(key): str(value)
            for key, value in run.data.tags.items()
            if key not in _SKIPPED_RUN_TAGS
        },
    )


def _tags(
    origin: Origin,
    mlmodel: dict[str, Any],
    run: RunRecord | None,
    model_file: Path,
    synthesized: bool,
) -> dict[str, str]:
    """Run and version tags, then ferry's lineage keys (which win over a clash)."""
    tags = {**(run.tags if run else {}), **origin.tags}
    lineage = {
        "mlflow.source": origin.source,
        "mlflow.run_id": mlmodel.get("run_id"),
        "mlflow.model_id": mlmodel.get("model_id") or mlmodel.get("model_uuid"),
        "mlflow.registered_model": origin.registered,
        "mlflow.version": mlmodel.get("mlflow_version"),
        "mlflow.model_file": model_file.name,
        "mlflow.model_file_sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        "mlflow.signature.inputs": (mlmodel.get("signature") or {}).get("inputs"),
        "ferry.input_example": "synthesized" if synthesized else None,
    }
    tags.update({key: str(value) for key, value in lineage.items() if value})
    return tags
