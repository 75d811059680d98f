"""What a model answers, by task: one :class:`Outputs` whichever backend computed it.

Every backend (the native model, an onnxruntime session) and every protocol answers a task the
same way, one row out per row in:

- ``classifier``: ``predictions`` (labels in the model's own type) and ``probabilities``;
- ``regressor``: ``predictions`` (floats);
- ``clusterer``: ``predictions`` (cluster ids), ``distances`` where the model has them, and
  ``confidence`` in [0, 1] (see :func:`membership`);
- ``transformer`` / ``embedding``: ``outputs``, one vector per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ferry.errors import Unsupported

TASKS = ("classifier", "regressor", "clusterer", "transformer", "embedding")
OUTPUT_NAMES = ("predictions", "probabilities", "distances", "confidence", "outputs")
POSTERIOR = "posterior"
"""Confidence of a mixture model: the posterior probability of the assigned component."""
MEMBERSHIP = "membership"
"""Confidence of a centroid model: the fuzzy membership of the assigned cluster (see
:func:`membership`)."""


@dataclass(frozen=True)
class Outputs:
    """One batch's answer; fields a task does not have are None."""

    predictions: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    distances: np.ndarray | None = None
    confidence: np.ndarray | None = None
    outputs: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    """An outside ONNX graph's outputs that are none of the task's, by their graph names, one
    row per row like the others."""

    def named(self) -> dict[str, np.ndarray]:
        """The task's outputs present, by name, in :data:`OUTPUT_NAMES` order."""
        present = {name: getattr(self, name) for name in OUTPUT_NAMES}
        return {name: value for name, value in present.items() if value is not None}

    def per_row(self) -> tuple[Any, ...]:
        """The fields in order, for slicing a batch's answer by request (``Outputs(*share)``):
        arrays (or None), then the ``extra`` mapping of arrays."""
        return (*(getattr(self, name) for name in OUTPUT_NAMES), self.extra)

    @property
    def rows(self) -> int:
        """How many rows were answered."""
        return len(next(iter(self.named().values())))

    def row_confidence(self) -> np.ndarray | None:
        """Per row, how sure the model is: the clusterer's confidence, else the highest class
        probability; None for tasks without one (regressors, transformers)."""
        if self.confidence is not None:
            return self.confidence
        if self.probabilities is not None:
            highest: np.ndarray = np.asarray(self.probabilities).max(axis=1)
            return highest
        return None


def membership(distances: np.ndarray) -> np.ndarray:
    """Fuzzy c-means membership (fuzzifier 2) of the nearest cluster, per row.

    ``u_k = (1 / d_k^2) / sum_j (1 / d_j^2)``: 1 on a centroid, ``1/k`` halfway between all
    ``k`` centroids, always in [0, 1]. It needs nothing but the distances, so the native model
    and the ONNX graph (which returns the same distances) give the same confidence.
    """
    squared = np.square(np.asarray(distances, dtype=np.float64))
    with np.errstate(divide="ignore"):
        inverse = 1.0 / squared
    on_centroid = ~np.isfinite(inverse)
    inverse = np.where(on_centroid.any(axis=1, keepdims=True), on_centroid * 1.0, inverse)
    shares: np.ndarray = inverse / inverse.sum(axis=1, keepdims=True)
    return np.asarray(shares.max(axis=1))


def clusterer_outputs(
    labels: np.ndarray, second: np.ndarray | None, confidence_kind: str
) -> Outputs:
    """A clusterer's outputs from its labels and its distances (centroid models) or posterior
    probabilities (mixtures)."""
    labels = np.asarray(labels).ravel()
    if second is None:
        return Outputs(predictions=labels)
    second = np.asarray(second, dtype=np.float64)
    if confidence_kind == POSTERIOR:
        return Outputs(predictions=labels, confidence=second.max(axis=1))
    return Outputs(predictions=labels, distances=second, confidence=membership(second))


def native_outputs(model: Any, task: str, inputs: Any, facts: dict[str, Any]) -> Outputs:
    """Ask a model with scikit-learn's API (``predict``, ``predict_proba``, ``transform``) for
    its task's outputs; a model with its own ``task_outputs`` answers itself."""
    own = getattr(model, "task_outputs", None)
    if callable(own):
        answer: Outputs = own(inputs, task, facts)
        return answer
    if task == "classifier":
        proba = getattr(model, "predict_proba", None)
        return Outputs(
            predictions=np.asarray(model.predict(inputs)),
            probabilities=np.asarray(proba(inputs)) if callable(proba) else None,
        )
    if task == "regressor":
        return Outputs(predictions=np.asarray(model.predict(inputs), dtype=np.float64).ravel())
    if task == "clusterer":
        kind = facts.get("confidence", MEMBERSHIP)
        method = "predict_proba" if kind == POSTERIOR else "transform"
        second = getattr(model, method, None)
        labels = np.asarray(model.predict(inputs))
        return clusterer_outputs(labels, second(inputs) if callable(second) else None, kind)
    if task in ("transformer", "embedding"):
        return Outputs(outputs=_dense(model.transform(inputs)))
    raise Unsupported(f"unknown task {task!r}; ferry serves {list(TASKS)}")


def task_of(output_schema: dict[str, Any]) -> str:
    """The task a version's output schema records (versions from before tasks were recorded:
    a classifier when it has classes, else a regressor)."""
    task = output_schema.get("task")
    if isinstance(task, str):
        return task
    return "classifier" if output_schema.get("classes") is not None else "regressor"


def _dense(values: Any) -> np.ndarray:
    """A transformer's output as a dense float array (sparse matrices are densified)."""
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values, dtype=np.float64)
