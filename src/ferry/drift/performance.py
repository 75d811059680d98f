"""Performance drift: a metric on labelled current data against the version's baseline.

Drift when the metric got worse by more than ``threshold`` relative to the baseline (5% by
default, the seed's rule): accuracy 0.90 -> 0.85 is a 5.6% drop and drifts; RMSE 10 -> 10.4 is a
4% rise and does not. The metric definitions are scikit-learn's, so a baseline recorded at
training time and the value computed here mean the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput

HIGHER_IS_BETTER = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "r2": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
}
"""Metrics a baseline can be compared on, and in which direction they improve."""

METRICS = tuple(HIGHER_IS_BETTER)


@dataclass(frozen=True)
class PerformanceDrift:
    """The metric now against its baseline, and whether the drop passes the threshold.

    ``relative_drop`` is positive when the model got worse; it is ``None`` when the baseline is
    exactly zero and a relative change has no meaning (then any worsening drifts).
    """

    metric: str
    baseline: float
    current: float
    relative_drop: float | None
    threshold: float
    drifted: bool
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "relative_drop": self.relative_drop,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "rows": self.rows,
        }


def check_metric(metric: str) -> str:
    """Return ``metric`` if it is known, else raise :class:`InvalidInput` listing the choices."""
    if metric not in HIGHER_IS_BETTER:
        raise InvalidInput(f"unknown performance metric {metric!r}: choose one of {METRICS}")
    return metric


def score(metric: str, labels: Any, predictions: Any) -> tuple[float, int]:
    """The metric on the rows that have a label, and how many rows that was."""
    truth = _flat(labels, "labels")
    guess = np.asarray(predictions)
    if guess.ndim == 2 and guess.shape[1] == 1:
        guess = guess[:, 0]
    if len(truth) != len(guess):
        raise InvalidInput(
            f"labels have {len(truth)} rows but predictions have {len(guess)}: pass one label "
            "per prediction (NaN where the label is not known yet)"
        )
    known = ~pd.isna(truth)
    if not known.any():
        raise InvalidInput("no label is known: performance drift needs at least one label")
    value = _compute(check_metric(metric), truth[known], guess[known])
    if not math.isfinite(value):
        raise InvalidInput(f"{metric} is not finite on these labels and predictions")
    return value, int(known.sum())


def compare(
    metric: str, baseline: float, current: float, threshold: float, rows: int
) -> PerformanceDrift:
    """Judge the current value against the baseline."""
    worse_by = baseline - current if HIGHER_IS_BETTER[metric] else current - baseline
    if baseline == 0:
        relative = None
        drifted = worse_by > 0
    else:
        relative = worse_by / abs(baseline)
        drifted = relative > threshold
    return PerformanceDrift(metric, baseline, current, relative, threshold, drifted, rows)


def _flat(values: Any, role: str) -> np.ndarray[Any, Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"{role} must be one-dimensional, got shape {array.shape}")
    return array


def _classification_average(truth: np.ndarray[Any, Any]) -> str:
    """Binary averaging for 0/1 labels (the usual precision/recall/F1), macro otherwise."""
    return "binary" if set(pd.unique(truth).tolist()) <= {0, 1} else "macro"


def _compute(metric: str, truth: np.ndarray[Any, Any], guess: np.ndarray[Any, Any]) -> float:
    """scikit-learn's definition of ``metric`` (imported here: it is slow to import)."""
    from sklearn import metrics

    if metric == "accuracy":
        return float(metrics.accuracy_score(truth, guess))
    if metric in ("precision", "recall", "f1"):
        scorer = getattr(metrics, f"{metric}_score")
        average = _classification_average(truth)
        return float(scorer(truth, guess, average=average, zero_division=0))
    if metric == "roc_auc":
        if len(set(pd.unique(truth).tolist())) < 2:
            raise InvalidInput("roc_auc needs labels of at least two classes")
        options = {"multi_class": "ovr"} if guess.ndim == 2 else {}
        return float(metrics.roc_auc_score(truth, guess, **options))
    if metric == "log_loss":
        return float(metrics.log_loss(truth, guess))
    if metric == "rmse":
        return float(metrics.root_mean_squared_error(truth, guess))
    if metric == "mae":
        return float(metrics.mean_absolute_error(truth, guess))
    if len(truth) < 2:
        raise InvalidInput("r2 needs at least two labelled rows")
    return float(metrics.r2_score(truth, guess))
