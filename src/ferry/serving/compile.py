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
