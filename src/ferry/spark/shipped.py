"""A version prepared once on the driver and answered on every executor.

The driver resolves the reference, verifies every file's hash and compiles the model to ONNX
with the server's own loader (same cache, same agreement check on the stored input example).
Executors receive only bytes and their sha256: the optimised ONNX graph when it agreed with the
native model, else the verified native artifact. Each Python worker checks the hash once, builds
its runner once, and reuses it for every Arrow batch of every task it runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ferry.errors import IntegrityError, InvalidInput, Unsupported
from ferry.flavors.tasks import task_of

if TYPE_CHECKING:
    from ferry.registry.registry import Registry


@dataclass(frozen=True)
class ShippedModel:
    """What executors need to answer one version: bytes, their hash, and how to read them.

    ``payload`` is a Spark broadcast of the bytes (anything with ``.value``), so each executor
    fetches them once; ``backend`` is ``onnx`` (a compiled graph, no scikit-learn needed there)
    or ``native`` (the flavor loads the artifact, so its framework must be installed there).
    """

    name: str
    version: str
    task: str
    classes: tuple[Any, ...] | None
    features: tuple[str, ...]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    backend: str
    flavor: str
    loader: dict[str, Any]
    sha256: str
    payload: Any

    @property
    def reference(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"


def prepare(
    registry: Registry,
    ref: str,
    columns: list[str] | None,
    *,
    onnx: bool = True,
    cache_dir: Path | None = None,
) -> tuple[ShippedModel, bytes]:
    """Resolve, verify and compile ``ref`` on the driver; the model (payload unset) and bytes."""
    from ferry.config import ServingSettings
    from ferry.serving.cache import ModelCache
    from ferry.serving.compile import compile_key
    from ferry.serving.loader import ModelLoader

    version = registry.resolve(ref)
    meta = version.metadata
    beside = meta["loader"].get("files")
    if beside:  # executors get one broadcast file
        raise Unsupported(
            f"{version.reference} needs {list(beside)} beside its model file (a text model's "
            "tokenizer), and ferry.spark ships one file: score it with ferry serve or "
            "Registry.load"
        )
    # compat "warn", as Registry.load: other library versions are logged, not refused
    settings = ServingSettings(warmup_iterations=0, onnx="auto" if onnx else "off", compat="warn")
    cache = ModelCache(cache_dir or registry.settings.home / "cache")
    loaded = ModelLoader(registry, cache, settings).load(version)
    model_file = meta["loader"]["file"]
    model_sha = next(a["sha256"] for a in meta["artifacts"] if a["file"] == model_file)
    data: bytes | None = None
    if loaded.runner.backend == "onnx":
        entry = cache.compiled(compile_key(model_sha), model_sha)
        data = entry.data if entry is not None else None
    backend = "onnx" if data is not None else "native"
    if data is None:
        data = registry.read_artifact(version.reference, model_file)  # hash-verified
    classes = meta["output_schema"].get("classes")
    shipped = ShippedModel(
        name=version.name,
        version=version.version,
        task=task_of(meta["output_schema"]),
        classes=tuple(classes) if classes is not None else None,
        features=feature_columns(meta["input_schema"], columns, version.reference),
        input_schema=meta["input_schema"],
        output_schema=meta["output_schema"],
        backend=backend,
        flavor=meta["flavor"],
        loader=dict(meta["loader"]),
        sha256=hashlib.sha256(data).hexdigest(),
        payload=None,
    )
    return shipped, data


def feature_columns(
    schema: dict[str, Any], columns: list[str] | None, reference: str
) -> tuple[str, ...]:
    """The DataFrame columns that feed the model, in the model's order."""
    if columns is not None:
        if isinstance(columns, str):
            raise InvalidInput(f"columns must be a list of names, not the string {columns!r}")
        return tuple(columns)
    if schema["type"] == "dataframe":
        return tuple(column["name"] for column in schema["columns"])
    raise InvalidInput(
        f"{reference} takes an unnamed tensor: pass columns=[...] naming the DataFrame "
        "columns that hold its inputs, in order"
    )


_RUNNERS: dict[tuple[str, str], Any] = {}
"""One runner per Python worker and model: built on the first batch, reused after."""


def runner_for(model: ShippedModel) -> Any:
    """The runner answering ``model`` in this worker, after checking its bytes' hash."""
    key = (model.sha256, model.backend)
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _build_runner(model, _verified(model))
        _RUNNERS[key] = runner
    return runner


def _verified(model: ShippedModel) -> bytes:
    data = model.payload.value if hasattr(model.payload, "value") else model.payload
    actual = hashlib.sha256(data).hexdigest()
    if actual != model.sha256:
        raise IntegrityError(
            f"{model.reference}: the {model.backend} bytes an executor received have sha256 "
            f"{actual[:12]}..., the driver shipped {model.sha256[:12]}...: refusing to score"
        )
    return bytes(data)


def _build_runner(model: ShippedModel, data: bytes) -> Any:
    from ferry.serving.inputs import InputSpec
    from ferry.serving.runners import NativeRunner, OnnxRunner, onnx_session

    task, facts = model.task, model.output_schema
    spec = InputSpec.from_schema(model.input_schema)
    if model.backend == "onnx":
        return OnnxRunner(onnx_session(data), task, facts, spec.names)
    from ferry.flavors import flavor_named

    predictor = flavor_named(model.flavor).load({model.loader["file"]: data}, model.loader)
    return NativeRunner(predictor, spec, model.input_schema, task, facts)


def answer(model: ShippedModel, batch: pd.DataFrame) -> dict[str, np.ndarray]:
    """The task's outputs for one batch of rows, by name (``predictions``, ``probabilities``...)."""
    rows = batch[list(model.features)].to_numpy()
    if all(kind in "biuf" for kind in batch[list(model.features)].dtypes.map(lambda d: d.kind)):
        rows = rows.astype(np.float64, copy=False)
    result = runner_for(model).run(rows)
    if hasattr(result, "named"):
        named: dict[str, np.ndarray] = result.named()
        return named
    labels, second = result
    return (
        {"predictions": labels, "probabilities": second}
        if second is not None
        else {"predictions": labels}
    )
