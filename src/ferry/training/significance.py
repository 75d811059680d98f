"""Paired significance tests: is the candidate really better on the same holdout rows?

McNemar's exact test (classification) looks only at the rows where exactly one model is right:
if the candidate is no better, each such row is a fair coin, so the count it wins is
Binomial(n, 1/2). The test is one-sided, because a model is promoted only for being better.

The paired bootstrap (any metric that is a sum over rows) resamples the holdout rows with
replacement, scores both models on each resample, and reports the share of resamples where the
candidate is not better. Resampling is done with multinomial row weights, so every metric is a
few matrix products, with no Python loop over resamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ferry.errors import InvalidInput
from ferry.training.evaluation import Evaluation
from ferry.training.metrics import LOWER_IS_BETTER, is_binary

Array = NDArray[Any]
Weights = NDArray[np.float64]

_CELLS_PER_CHUNK = 4_000_000
"""Resamples are drawn in chunks of at most this many weights (32 MB) to bound memory."""

BOOTSTRAP_METRICS = frozenset(
    {"accuracy", "precision", "recall", "f1", "log_loss", "rmse", "mae", "r2", "silhouette",
     "inertia"}
)  # fmt: skip
"""Metrics the weighted bootstrap can compute (ROC AUC is a rank statistic, not a row sum)."""


@dataclass(frozen=True)
class PairedTest:
    """The outcome of a paired test: its name, one-sided p-value and what it counted."""

    test: str
    p_value: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"test": self.test, "p_value": self.p_value, **self.details}


def mcnemar(candidate: Evaluation, champion: Evaluation) -> PairedTest:
    """Exact one-sided McNemar test on the rows where exactly one of the two models is right."""
    from scipy.stats import binomtest

    truth = _truth(candidate)
    candidate_right = candidate.predicted == truth
    champion_right = champion.predicted == truth
    wins = int(np.sum(candidate_right & ~champion_right))
    losses = int(np.sum(~candidate_right & champion_right))
    discordant = wins + losses
    p_value = 1.0
    if discordant:
        p_value = float(binomtest(wins, discordant, 0.5, alternative="greater").pvalue)
    counts = {"candidate_only_right": wins, "champion_only_right": losses}
    return PairedTest("mcnemar", p_value, counts)


def paired_bootstrap(
    metric: str,
    candidate: Evaluation,
    champion: Evaluation,
    *,
    samples: int = 1000,
    random_state: int = 0,
) -> PairedTest:
    """One-sided paired bootstrap of ``metric``: the share of resamples the candidate loses."""
    if metric not in BOOTSTRAP_METRICS:
        raise InvalidInput(f"the paired bootstrap cannot test {metric!r}; use mcnemar")
    rows = candidate.rows
    if rows != champion.rows or rows == 0:
        raise InvalidInput("both models must be scored on the same, non-empty holdout")
    generator = np.random.default_rng(random_state)
    chunk = max(1, _CELLS_PER_CHUNK // rows)
    gains: list[Array] = []
    drawn = 0
    while drawn < samples:
        size = min(chunk, samples - drawn)
        weights = generator.multinomial(rows, np.full(rows, 1.0 / rows), size=size).astype(float)
        ours = weighted_metric(metric, weights, candidate)
        theirs = weighted_metric(metric, weights, champion)
        gains.append(theirs - ours if metric in LOWER_IS_BETTER else ours - theirs)
        drawn += size
    all_gains = np.concatenate(gains)
    not_better = int(np.sum(all_gains <= 0))
    p_value = (not_better + 1) / (samples + 1)
    low, high = np.quantile(all_gains, [0.025, 0.975])
    return PairedTest(
        "bootstrap",
        float(p_value),
        {"samples": samples, "gain_ci95": [float(low), float(high)]},
    )


def weighted_metric(metric: str, weights: Weights, result: Evaluation) -> Array:
    """``metric`` on each resample; row ``i`` of ``weights`` counts how often each row was drawn."""
    if metric in ("precision", "recall", "f1"):
        return _precision_recall_f1(metric, weights, _truth(result), result.predicted)
    if metric in ("rmse", "mae", "r2"):
        truth = _truth(result).astype(float)
        return _regression(metric, weights, truth, result.predicted.astype(float))
    total = weights.sum(axis=1)
    if metric == "inertia":
        return _floats(weights @ _require(result.distances, metric))
    if metric == "silhouette":
        per_row = _require(result.silhouettes, metric)
    elif metric == "accuracy":
        per_row = (result.predicted == _truth(result)).astype(float)
    else:
        per_row = _row_log_loss(result, _truth(result))
    return _floats(_floats(weights @ per_row) / total)


def _regression(metric: str, weights: Weights, truth: Array, predicted: Array) -> Array:
    total = weights.sum(axis=1)
    errors = predicted - truth
    squared = _floats(weights @ errors**2)
    if metric == "rmse":
        return _floats(np.sqrt(squared / total))
    if metric == "mae":
        return _floats(_floats(weights @ np.abs(errors)) / total)
    mean = _floats(weights @ truth) / total
    spread = _floats(weights @ truth**2) - total * mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return _floats(np.where(spread > 0, 1.0 - squared / spread, 0.0))


def _precision_recall_f1(metric: str, weights: Weights, truth: Array, predicted: Array) -> Array:
    """Binary for 0/1 labels, else the macro average over every label seen (as sklearn)."""
    labels = [1] if is_binary(truth) else list(np.unique(np.concatenate([truth, predicted])))
    per_label = []
    for label in labels:
        hit = (predicted == label) & (truth == label)
        true_positive = weights @ hit.astype(float)
        false_positive = weights @ ((predicted == label) & ~hit).astype(float)
        false_negative = weights @ ((truth == label) & ~hit).astype(float)
        if metric == "precision":
            numerator, denominator = true_positive, true_positive + false_positive
        elif metric == "recall":
            numerator, denominator = true_positive, true_positive + false_negative
        else:
            numerator = 2 * true_positive
            denominator = 2 * true_positive + false_positive + false_negative
        with np.errstate(divide="ignore", invalid="ignore"):
            per_label.append(np.where(denominator > 0, numerator / denominator, 0.0))
    return _floats(np.mean(per_label, axis=0))


def _row_log_loss(result: Evaluation, truth: Array) -> Array:
    probabilities = _require(result.probabilities, "log_loss")
    classes = list(_require(result.classes, "log_loss"))
    index = np.array([classes.index(label) for label in truth])
    chosen = probabilities[np.arange(len(truth)), index]
    return _floats(-np.log(np.clip(chosen, 1e-15, 1.0)))


def _floats(values: Any) -> Array:
    return np.asarray(values, dtype=float)


def _truth(result: Evaluation) -> Array:
    return _require(result.truth, "a target")


def _require(values: Array | None, what: str) -> Array:
    if values is None:
        raise InvalidInput(f"the holdout evaluation has no per-row values for {what}")
    return values
