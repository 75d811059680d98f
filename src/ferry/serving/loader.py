"""Resolve → fetch into the local cache → verify → compile (cached ONNX) → warm up.

Everything a version needs before it may answer happens here, in the caller's thread, so that a
swap can prepare the new version beside the one still serving.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ferry.config import ServingSettings
from ferry.flavors import flavor_named
from ferry.flavors.base import model_files
from ferry.flavors.tasks import task_of
from ferry.registry.artifacts import EXAMPLE_FILE
from ferry.registry.compat import Compatibility, backend_of, check
from ferry.registry.version import ModelVersion
from ferry.serving.cache import CompiledEntry, ModelCache
from ferry.serving.compile import (
    bind_source,
    bound_source,
    compile_key,
    disagreement,
    optimise,
    to_onnx_bytes,
)
from ferry.serving.inputs import InputSpec
from ferry.serving.runners import NativeRunner, OnnxRunner, Runner, onnx_session
from ferry.serving.startup import Phases

log = logging.getLogger("ferry.serving")


@dataclass
class LoadedVersion:
    """One version ready to answer, with the figures health and metrics report."""

    name: str
    version: str
    metadata: dict[str, Any]
    spec: InputSpec
    runner: Runner
    example: np.ndarray
    load_ms: float = 0.0
    warmup_ms: list[float] = field(default_factory=list)
    startup_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds per phase of getting here (``startup.PHASES``)."""
    cache_hit: bool = False
    compile_note: str | None = None
    compat: Compatibility | None = None

    @property
    def reference(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    @property
    def task(self) -> str:
        """What the version answers: classifier, regressor, clusterer, transformer, embedding."""
        return task_of(self.metadata["output_schema"])

    @property
    def facts(self) -> dict[str, Any]:
        """Task facts for health: ``classes``, ``n_clusters``, ``width``, ``scores`` (a network's
        logits or probabilities) where the task has them."""
        schema = self.metadata["output_schema"]
        facts = ("classes", "n_classes", "n_clusters", "width", "scores", "extra_outputs")
        return {key: schema[key] for key in facts if key in schema}

    @property
    def extra_outputs(self) -> list[str]:
        """An ONNX file's outputs beyond its task's, by their graph names."""
        return list(self.metadata["output_schema"].get("extra_outputs", {}))

    @property
    def classes(self) -> list[Any] | None:
        """Class labels in probability-column order, for classifiers."""
        classes: list[Any] | None = self.metadata["output_schema"].get("classes")
        return classes

    def warmup_summary(self) -> tuple[float, float]:
        """Mean and p95 of the warm-up inferences, in milliseconds."""
        if not self.warmup_ms:
            return 0.0, 0.0
        ordered = sorted(self.warmup_ms)
        return statistics.fmean(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


class ArtifactSource(Protocol):
    """Where verified artifact bytes come from: the registry, or a baked bundle."""

    def read_artifact(self, ref: str, filename: str) -> bytes: ...


class ModelLoader:
    """Prepares versions for serving from a registry (or a bundle) and a local cache."""

    def __init__(
        self, registry: ArtifactSource, cache: ModelCache, settings: ServingSettings
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.settings = settings

    def load(self, version: ModelVersion) -> LoadedVersion:
        """Fetch, verify, compile and warm up ``version``; raises on any failure.

        ``load_ms`` is fetch + verify + open session (hash checks included, warm-up not);
        ``startup_ms`` has each phase. Every file of the version is hash-checked, even a model
        file that a cached graph stands in for (hashed as it is read, never held in memory): a
        tampered version is refused, not half-served.
        """
        phases = Phases()
        metadata = version.metadata
        spec = InputSpec.from_schema(metadata["input_schema"])
        entry = self._compiled_entry(version, phases)
        names = (*model_files(metadata["loader"]), EXAMPLE_FILE)
        files, hits = self._fetch(version, names, phases, _stood_in(metadata, entry))
        example = _example_rows(files[EXAMPLE_FILE], spec)
        compat = self._compatibility(version, files, entry)
        with phases.timed("open_session"):
            runner, note, compiled_hit = self._runner(version, spec, files, example, entry)
        loaded = LoadedVersion(
            version.name, version.version, metadata, spec, runner, example,
            cache_hit=hits and compiled_hit, compile_note=note, compat=compat,
        )  # fmt: skip
        with phases.timed("warm_up"):
            loaded.warmup_ms = _warm_up(runner, example, self.settings.warmup_iterations)
        loaded.load_ms = phases.load_ms
        loaded.startup_ms = phases.ms
        return loaded

    def _compiled_entry(self, version: ModelVersion, phases: Phases) -> CompiledEntry | None:
        """The cache's compiled entry for the version's model file (read and hashed once)."""
        if self.settings.onnx != "auto":
            return None
        model_sha = _model_sha(version.metadata)
        return self.cache.compiled(compile_key(model_sha), model_sha, phases)

    def _compatibility(
        self, version: ModelVersion, files: dict[str, bytes], entry: CompiledEntry | None
    ) -> Compatibility:
        """Compare the version's libraries for the backend that will run it (FERRY_COMPAT).

        A graph already compiled for its artifact is served by onnxruntime without loading the
        native model, so only its opsets matter; otherwise the model file's own backend decides.
        Refuses in strict mode; in warn mode the warning is logged and kept for health.
        """
        meta = version.metadata
        graph = (
            (entry.data if entry is not None else None)
            if _native_backend(meta)
            else files[meta["loader"]["file"]]
        )
        backend = "onnx" if graph is not None else "native"
        report = check(version.reference, meta, self.settings.compat, backend=backend, graph=graph)
        if report.message() is not None:
            log.warning("serving anyway (FERRY_COMPAT=warn): %s", report.message())
        return report

    def _fetch(
        self,
        version: ModelVersion,
        names: tuple[str, ...],
        phases: Phases,
        checked_only: tuple[str, ...] = (),
    ) -> tuple[dict[str, bytes], bool]:
        """The files' verified bytes, from the cache when it still holds them; the files in
        ``checked_only`` are left out when the cache holds them intact (a compiled graph stands
        in for them), and fetched like the others when it does not."""
        recorded = {a["file"]: a["sha256"] for a in version.metadata["artifacts"]}
        files, all_hit = {}, True
        for name in names:
            if name in checked_only and self.cache.holds(recorded[name], phases):
                continue
            data = self.cache.artifact(recorded[name], phases)
            if data is None:
                all_hit = False
                with phases.timed("fetch"):  # the registry's read includes its hash check
                    data = self.registry.read_artifact(version.reference, name)
                self.cache.store_artifact(recorded[name], data)
            files[name] = data
        return files, all_hit

    def _runner(
        self,
        version: ModelVersion,
        spec: InputSpec,
        files: dict[str, bytes],
        example: np.ndarray,
        entry: CompiledEntry | None,
    ) -> tuple[Runner, str | None, bool]:
        """The ONNX runner when the version compiles and agrees, else the native model."""
        meta = version.metadata
        task, facts = task_of(meta["output_schema"]), meta["output_schema"]
        if self.settings.onnx == "auto":
            model_sha = _model_sha(meta)
            key = compile_key(model_sha)
            if entry is not None and entry.data is not None:
                session = onnx_session(entry.data)
                if bound_source(session) == model_sha:
                    return OnnxRunner(session, task, facts, spec.names), None, True
                log.warning(
                    "the compiled cache entry for %s was compiled from another artifact "
                    "(%s); compiling it again", version.reference, bound_source(session),
                )  # fmt: skip
                entry = None
                files = {**self._fetch(version, model_files(meta["loader"]), Phases())[0], **files}
            if entry is None:
                return self._compile(version, spec, files, example, (key, model_sha))
            return self._native(version, spec, files), entry.record.get("reason"), True
        return self._native(version, spec, files), None, True

    def _compile(
        self,
        version: ModelVersion,
        spec: InputSpec,
        files: dict[str, bytes],
        example: np.ndarray,
        cached_as: tuple[str, str],
    ) -> tuple[Runner, str | None, bool]:
        """Compile and check the version; cache the graph under ``cached_as`` (key, source)."""
        meta = version.metadata
        key, source = cached_as
        native = self._native(version, spec, files)
        try:
            graph = to_onnx_bytes(meta["flavor"], native.predictor, native.frame(example))
            optimised = bind_source(optimise(graph), source)
            schema = meta["output_schema"]
            compiled = OnnxRunner(onnx_session(optimised), task_of(schema), schema, spec.names)
            reason = disagreement(compiled, native, example)
        except Exception as error:  # any converter failure means: serve natively
            reason, optimised = f"cannot convert to ONNX: {type(error).__name__}: {error}", b""
        record = {
            "agrees": reason is None, "reason": reason, "model": version.reference,
            "source_sha256": source,
        }  # fmt: skip
        self.cache.store_compiled(key, optimised if reason is None else None, record)
        if reason is not None:
            return native, reason, False
        return compiled, None, False

    def _native(
        self, version: ModelVersion, spec: InputSpec, files: dict[str, bytes]
    ) -> NativeRunner:
        meta = version.metadata
        if backend_of(meta) == "native":  # even when a cached graph was expected: never unchecked
            check(version.reference, meta, self.settings.compat, backend="native")
        predictor = flavor_named(meta["flavor"]).load(files, meta["loader"])
        schema = meta["output_schema"]
        return NativeRunner(predictor, spec, meta["input_schema"], task_of(schema), schema)


def _model_sha(meta: dict[str, Any]) -> str:
    """The recorded sha256 of the version's model file."""
    model_file = meta["loader"]["file"]
    return str(next(a["sha256"] for a in meta["artifacts"] if a["file"] == model_file))


def _stood_in(meta: dict[str, Any], entry: CompiledEntry | None) -> tuple[str, ...]:
    """The model files a cached compiled graph stands in for: checked, but never read for use."""
    if entry is None or entry.data is None or not _native_backend(meta):
        return ()
    return tuple(model_files(meta["loader"]))


def _native_backend(meta: dict[str, Any]) -> bool:
    return bool(backend_of(meta) == "native")


def _example_rows(data: bytes, spec: InputSpec) -> np.ndarray:
    """The stored input example as validated rows."""
    payload = json.loads(data)
    rows = [_flat(row) for row in payload["data"]]
    return spec.rows(rows)


def _flat(row: Any) -> list[Any]:
    """One stored row as a flat list; mixed text and numbers stay as they are (numpy would
    turn them all into strings)."""
    if isinstance(row, list) and not any(isinstance(value, list) for value in row):
        return row
    return list(np.asarray(row).ravel().tolist())


def _warm_up(runner: Runner, example: np.ndarray, iterations: int) -> list[float]:
    """Run the example ``iterations`` times: first-call costs are paid before traffic comes."""
    timings = []
    for _ in range(iterations):
        started = time.perf_counter()
        runner.run(example)
        timings.append((time.perf_counter() - started) * 1000)
    return timings
