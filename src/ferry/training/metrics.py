"""The metrics of each task, which way each one improves, and how they are computed.

Classification uses binary averaging when the labels are 0/1 (the usual precision, recall and F1
of the positive class) and macro averaging otherwise; this is the rule ``ferry.drift`` uses for
performance drift, so a baseline recorded here and a value measured later mean the same thing.
A metric that is undefined on the data (ROC AUC with one class present, log loss without
probabilities) is left out rather than reported as NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import InvalidInput

TASKS = ("classification", "regression", "clustering")

TASK_METRICS = MappingProxyType(
    {
        "classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
        "regression": ("rmse", "mae", "r2"),
        "clustering": ("silhouette", "inertia"),
    }
)
"""Every metric ferry computes, by task."""

DEFAULT_PRIMARY = MappingProxyType(
    {"classification": "f1", "regression": "rmse", "clustering": "silhouette"}
)
"""The primary metric when a pipeline names none."""

LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "inertia"})
"""Metrics that improve downwards; every other metric improves upwards."""

LABEL_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "rmse", "mae", "r2"})
"""Metrics computable from predicted labels or values alone (what a prediction log holds)."""

Array = NDArray[Any]


def check_metric(task: str, metric: str, key: str) -> str:
    """Return ``metric`` if ``task`` has it; otherwise name the key and list the choices."""
    if metric not in TASK_METRICS[task]:
        raise InvalidInput(
            f"{key}: {task} has no metric {metric!r}; choose from {TASK_METRICS[task]}"
        )
    return metric


def gain(metric: str, candidate: float, champion: float) -> float:
    """How much better ``candidate`` is than ``champion`` (positive = better), in metric units."""
    return champion - candidate if metric in LOWER_IS_BETTER else candidate - champion


def meets(metric: str, value: float, bound: float) -> bool:
    """Whether ``value`` is on the good side of ``bound`` (a floor, or a ceiling for losses)."""
    return value <= bound if metric in LOWER_IS_BETTER else value >= bound


def is_binary(truth: Array) -> bool:
    """0/1 labels: precision, recall and F1 are those of class 1 (binary averaging)."""
    return set(pd.unique(pd.Series(truth)).tolist()) <= {0, 1}


def classification_metrics(
    truth: Array, predicted: Array, probabilities: Array | None, classes: Array | None
) -> dict[str, float]:
    """Accuracy, precision, recall, F1, and ROC AUC and log loss when probabilities exist."""
    from sklearn import metrics

    average = "binary" if is_binary(truth) else "macro"
    found = {
        "accuracy": _quiet(metrics.accuracy_score, truth, predicted),
        "precision": _quiet(
            metrics.precision_score, truth, predicted, average=average, zero_division=0
        ),
        "recall": _quiet(metrics.recall_score, truth, predicted, average=average, zero_division=0),
        "f1": _quiet(metrics.f1_score, truth, predicted, average=average, zero_division=0),
    }
    if probabilities is not None and classes is not None:
        found["roc_auc"] = _roc_auc(truth, probabilities, classes)
        found["log_loss"] = _quiet(metrics.log_loss, truth, probabilities, labels=classes)
    return _finite(found)


def regression_metrics(truth: Array, predicted: Array) -> dict[str, float]:
    """RMSE, MAE and R² (R² needs two rows)."""
    errors = np.asarray(predicted, dtype=float) - np.asarray(truth, dtype=float)
    found = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": _r2(np.asarray(truth, dtype=float), errors),
    }
    return _finite(found)


def clustering_metrics(silhouettes: Array | None, distances: Array | None) -> dict[str, float]:
    """Mean silhouette and inertia (sum of squared distances to the nearest centre)."""
    found: dict[str, float] = {}
    if silhouettes is not None:
        found["silhouette"] = float(np.mean(silhouettes))
    if distances is not None:
        found["inertia"] = float(np.sum(distances))
    return _finite(found)


def _r2(truth: Array, errors: Array) -> float:
    if truth.size < 2:
        return math.nan
    spread = float(np.sum((truth - truth.mean()) ** 2))
    return math.nan if spread == 0 else 1.0 - float(np.sum(errors**2)) / spread


def _roc_auc(truth: Array, probabilities: Array, classes: Array) -> float:
    from sklearn import metrics

    if len(classes) == 2:
        return _quiet(metrics.roc_auc_score, truth, probabilities[:, 1])
    return _quiet(metrics.roc_auc_score, truth, probabilities, multi_class="ovr", labels=classes)


def _quiet(function: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """A metric's value, or NaN when it is undefined on this data (then it is left out)."""
    from sklearn.exceptions import UndefinedMetricWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        try:
            return float(function(*args, **kwargs))
        except (ValueError, UndefinedMetricWarning):
            return math.nan


def _finite(found: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in found.items() if math.isfinite(value)}
