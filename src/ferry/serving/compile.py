"""Compile a version to an optimised ONNX graph, and prove it answers like the original.

The compiled graph is kept only when, on the version's stored input example, it answers every
output of the model's task like the native model: labels exactly, numbers within
``PROBABILITY_TOLERANCE`` (absolute) and ``RELATIVE_TOLERANCE``; otherwise the server runs the
native model and remembers why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import Unsupported
from ferry.flavors import flavor_named
from ferry.flavors.tasks import Outputs
from ferry.serving.runners import NativeRunner, OnnxRunner, onnx_session
from ferry.serving.slim import slim

PROBABILITY_TOLERANCE = 1e-5
RELATIVE_TOLERANCE = 1e-5
OPTIMIZATION_LEVEL = "extended"
FORMAT = "slim"
"""What the cache key says about the file beyond the level: its tree ensembles are slimmed
(``slim.py``); an entry written before slimming is compiled again, not served as it was."""
SOURCE_KEY = "ferry_source_sha256"
"""The ONNX metadata property binding a compiled graph to the artifact it was compiled from."""


def compile_key(model_sha256: str) -> str:
    """Cache key: the artifact hash, the onnxruntime version, the optimisation level and the
    file's format."""
    import onnxruntime

    return f"{model_sha256}-ort{onnxruntime.__version__}-{OPTIMIZATION_LEVEL}-{FORMAT}"


def to_onnx_bytes(flavor: str, predictor: Any, example: Any) -> bytes:
    """The unoptimised ONNX graph of a version, from its flavor, for ``example`` as the native
    model takes it (an array, a frame or a Series); :class:`Unsupported` saying why when it has
    none."""
    graph = flavor_named(flavor).to_onnx(predictor, example)
    if graph is None:
        raise Unsupported(f"the {flavor} flavor has no ONNX form")
    return graph


def optimise(graph: bytes) -> bytes:
    """Run onnxruntime's graph optimisations once and return the optimised graph, its tree
    ensembles slimmed (what a served process parses at every start)."""
    import onnx

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "optimised.onnx"
        onnx_session(graph, optimized_path=str(target))
        data: bytes = slim(onnx.load_from_string(target.read_bytes())).SerializeToString()
        return data


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
    got, expected = _by_name(compiled.run(example)), _by_name(native.run(example))
    if got.keys() != expected.keys():
        return f"it answers {sorted(got)}, the native model {sorted(expected)}"
    for name, value in expected.items():
        why = _differs(name, np.asarray(got[name]), np.asarray(value))
        if why is not None:
            return why
    return None


def _by_name(outputs: Outputs) -> dict[str, np.ndarray]:
    return {**outputs.named(), **outputs.extra}


def _differs(name: str, got: np.ndarray, expected: np.ndarray) -> str | None:
    if got.shape != expected.shape:
        return f"{name}: shape {got.shape} differs from {expected.shape}"
    if expected.dtype.kind not in "fc":
        if not np.array_equal(got.astype(expected.dtype), expected):
            return f"{name} differ from the native model's"
        return None
    gap = np.abs(got.astype(np.float64) - expected)
    allowed = PROBABILITY_TOLERANCE + RELATIVE_TOLERANCE * np.abs(expected)
    if not bool(np.all(gap <= allowed)):
        return (
            f"{name} differ from the native model's by up to {float(gap.max()):.2e} "
            f"(> {PROBABILITY_TOLERANCE:.0e} + {RELATIVE_TOLERANCE:.0e} relative)"
        )
    return None
