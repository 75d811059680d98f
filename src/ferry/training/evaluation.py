"""The holdout split, and what a model scores on it (kept row by row for the paired tests).

Candidate and champion are scored on the same holdout rows, and each :class:`Evaluation` keeps
its per-row outputs, so the promotion policy can pair them row by row instead of comparing two
summary numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import InvalidInput
from ferry.training.metrics import (
    classification_metrics,
    clustering_metrics,
    regression_metrics,
)

Array = NDArray[Any]


@dataclass(frozen=True, eq=False)
class Split:
    """Training rows and holdout rows (targets are None for clustering)."""

    train_features: pd.DataFrame
    test_features: pd.DataFrame
    train_target: pd.Series | None
    test_target: pd.Series | None
    time_cut: str | None = None
    """The latest time among the training rows (a time split only), as text."""


def split_holdout(
    features: pd.DataFrame,
    target: pd.Series | None,
    *,
    task: str,
    fraction: float,
    random_state: int,
) -> Split:
    """A seeded random split, stratified for classification when every class allows it."""
    from sklearn.model_selection import train_test_split

    holdout = int(np.ceil(len(features) * fraction))
    if holdout < 1 or len(features) - holdout < 2:
        raise InvalidInput(
            f"evaluation.holdout = {fraction} leaves {holdout} holdout rows of {len(features)}: "
            "give more data or change the fraction"
        )
    if target is None:
        train_features, test_features = train_test_split(
            features, test_size=fraction, random_state=random_state
        )
        return Split(train_features, test_features, None, None)
    stratify = None
    if task == "classification" and int(target.value_counts().min()) >= 2:
        stratify = target
    train_features, test_features, train_target, test_target = train_test_split(
        features, target, test_size=fraction, random_state=random_state, stratify=stratify
    )
    return Split(train_features, test_features, train_target, test_target)


def split_by_time(
    features: pd.DataFrame, target: pd.Series | None, times: pd.Series, *, fraction: float
) -> Split:
    """The latest rows by time are the holdout; every training row is older than every
    holdout row (rows sharing the boundary time all go to the holdout)."""
    holdout = int(np.ceil(len(features) * fraction))
    ordered = times.sort_values(kind="mergesort")
    boundary = ordered.iloc[max(len(ordered) - holdout, 0)]
    training = (times < boundary).to_numpy()
    if training.sum() < 2 or holdout < 1:
        raise InvalidInput(
            f"evaluation.holdout = {fraction} by time leaves {int(training.sum())} training rows "
            f"of {len(features)} older than {time_text(boundary)}: give more data, more distinct "
            "times, or a smaller fraction"
        )
    train_target = None if target is None else target[training]
    test_target = None if target is None else target[~training]
    cut = time_text(times[training].max())
    return Split(features[training], features[~training], train_target, test_target, cut)


def time_text(value: Any) -> str:
    """A time as recorded in tags: ISO-8601 for timestamps, the number itself otherwise."""
    return value.isoformat() if isinstance(value, pd.Timestamp) else repr(float(value))


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A model's metrics on some rows, with the per-row outputs they were computed from."""

    task: str
    metrics: dict[str, float]
    truth: Array | None
    predicted: Array
    probabilities: Array | None = None
    classes: Array | None = None
    silhouettes: Array | None = None
    distances: Array | None = None

    @property
    def rows(self) -> int:
        """How many rows were scored."""
        return len(self.predicted)


def evaluate(model: Any, features: pd.DataFrame, target: pd.Series | None, task: str) -> Evaluation:
    """Score ``model`` on ``features`` (and ``target``) with every metric of ``task``."""
    if task == "clustering":
        return _clustering(model, features)
    if target is None:
        raise InvalidInput(f"{task} needs a target to evaluate against")
    truth = target.to_numpy()
    predicted = np.asarray(model.predict(features))
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted[:, 0]
    if task == "regression":
        return Evaluation(task, regression_metrics(truth, predicted), truth, predicted)
    probabilities, classes = _probabilities(model, features)
    metrics = classification_metrics(truth, predicted, probabilities, classes)
    return Evaluation(task, metrics, truth, predicted, probabilities, classes)


def _probabilities(model: Any, features: pd.DataFrame) -> tuple[Array | None, Array | None]:
    classes = getattr(model, "classes_", None)
    method = getattr(model, "predict_proba", None)
    if classes is None or not callable(method):
        return None, None
    return np.asarray(method(features), dtype=float), np.asarray(classes)


def _clustering(model: Any, features: pd.DataFrame) -> Evaluation:
    from sklearn.metrics import silhouette_samples

    if not callable(getattr(model, "predict", None)):
        raise InvalidInput(
            f"{type(model).__name__} cannot assign new rows to clusters (no predict): "
            "ferry evaluates clusterers on a holdout; pick one with predict, e.g. KMeans"
        )
    labels = np.asarray(model.predict(features))
    silhouettes = None
    values = _numeric(features)
    if values is not None and 2 <= len(np.unique(labels)) < len(labels):
        silhouettes = np.asarray(silhouette_samples(values, labels), dtype=float)
    distances = _distances(model, features)
    metrics = clustering_metrics(silhouettes, distances)
    return Evaluation(
        "clustering", metrics, None, labels, silhouettes=silhouettes, distances=distances
    )


def _numeric(features: pd.DataFrame) -> Array | None:
    """The features as floats; silhouettes are measured in the data's own space."""
    try:
        values = features.to_numpy(dtype=float)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(values).any() else values


def _distances(model: Any, features: pd.DataFrame) -> Array | None:
    """Squared distance of each row to its nearest centre, for centroid models like KMeans."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if not hasattr(final, "cluster_centers_") or not callable(getattr(model, "transform", None)):
        return None
    distances = np.asarray(model.transform(features), dtype=float)
    return np.asarray(distances.min(axis=1) ** 2)
