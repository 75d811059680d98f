"""Compile a version to an optimised ONNX graph, and prove it answers like the original.

The compiled graph is kept only when, on the version's stored input example, its labels equal
the native model's and its probabilities are within ``PROBABILITY_TOLERANCE``; otherwise the
server runs the native model and remembers why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ferry.serving.runners import NativeRunner, OnnxRunner, onnx_session

PROBABILITY_TOLERANCE = 1e-5
OPTIMIZATION_LEVEL = "extended"
SOURCE_KEY = "ferry_source_sha256"
"""The ONNX metadata property binding a compiled graph to the artifact it was compiled from."""


def compile_key(model_sha256: str) -> str:
    """Cache key: the artifact hash, the onnxruntime version and the optimisation level."""
    import onnxruntime

    return f"{model_sha256}-ort{onnxruntime.__version__}-{OPTIMIZATION_LEVEL}"


def to_onnx_bytes(flavor: str, model_bytes: bytes, predictor: Any, width: int) -> bytes:
    """The unoptimised ONNX graph of a version (converted for scikit-learn models)."""
    if flavor == "onnx":
        return model_bytes
    from ferry.flavors.sklearn import compile_onnx

    return compile_onnx(predictor, width)


def optimise(graph: bytes) -> bytes:
    """Run onnxruntime's graph optimisations once and return the optimised graph."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "optimised.onnx"
        onnx_session(graph, optimized_path=str(target))
        return target.read_bytes()


def bind_source(graph: bytes, source_sha256: str) -> bytes:
    """``graph`` with the source artifact's sha256 in its metadata, so that a compiled file
    copied over another version's cache entry is recognised as foreign, not served."""
    import onnx

    model = onnx.load_from_string(graph)
    kept = [prop for prop in model.metadata_props if prop.key != SOURCE_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=SOURCE_KEY, value=source_sha256)
    data: bytes = model.SerializeToString()
    return data


def bound_source(session: Any) -> str | None:
    """The source sha256 a compiled graph was bound to (None when it carries none)."""
    bound: str | None = session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY)
    return bound


def disagreement(compiled: OnnxRunner, native: NativeRunner, example: np.ndarray) -> str | None:
    """Why the compiled graph cannot stand in for the native model, or None when it can."""
    labels, probabilities = compiled.run(example)
    expected_labels, expected_probabilities = native.run(example)
    if labels.shape != expected_labels.shape:
        return f"output shape {labels.shape} differs from {expected_labels.shape}"
    if expected_labels.dtype.kind in "fc":
        if not np.allclose(labels, expected_labels, rtol=1e-4, atol=1e-4):
            return "values differ from the native model by more than 1e-4"
    elif not np.array_equal(labels.astype(expected_labels.dtype), expected_labels):
        return "labels differ from the native model"
    if expected_probabilities is not None:
        if probabilities is None or probabilities.shape != expected_probabilities.shape:
            return "probability output missing or shaped differently"
        gap = float(np.max(np.abs(probabilities - expected_probabilities)))
        if gap > PROBABILITY_TOLERANCE:
            return f"probabilities differ by {gap:.2e} (> {PROBABILITY_TOLERANCE:.0e})"
    return None
