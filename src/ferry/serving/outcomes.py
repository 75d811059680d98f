"""Labelled outcomes: what a feedback label says about the variant that answered its request.

A prediction made during a rollout is remembered by request id (its rollout, variant and
predictions); when ``POST /feedback`` brings the request's label, each predicted row is scored
against it, and the scores are added to that variant's figures of the current window. Scores
are kept as sums (count, sum, sum of squares) per metric, so the figures of several replicas and
windows add up to those of all of them, and the A/B test and the metric floor read means and
variances off the sums.

Metrics: ``accuracy`` (1 for a right label, 0 for a wrong one) for classifiers;
``squared_error`` and ``absolute_error`` for regressors. A label counts once: the first label of a
request is scored, a later one for the same request is only logged.

Answers are remembered by the replica that made them. A label that reaches another replica (a
load balancer does not send ``/feedback`` where ``/predict`` went) is handed over through the
catalog, and the replica that remembers its request claims and scores it at its next tick
(:mod:`ferry.serving.labels`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

CLASSIFIER_METRICS = ("accuracy",)
REGRESSOR_METRICS = ("squared_error", "absolute_error")
REMEMBERED = 100_000
"""Predictions kept for labels to find; the oldest are forgotten first."""


@dataclass
class Moments:
    """Count, sum and sum of squares of one metric's per-row scores."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0

    def observe(self, scores: np.ndarray) -> None:
        """Add per-row scores."""
        self.count += int(scores.size)
        self.total += float(scores.sum())
        self.squares += float(np.square(scores).sum())

    def add(self, other: Moments) -> None:
        """Add another replica's (or window's) sums to these."""
        self.count += other.count
        self.total += other.total
        self.squares += other.squares

    @property
    def mean(self) -> float | None:
        """The mean score (accuracy, mean squared or absolute error); None with no rows."""
        return self.total / self.count if self.count else None

    @property
    def variance(self) -> float:
        """The sample variance (n - 1), floored at 0 against rounding; 0 below two rows."""
        if self.count < 2:
            return 0.0
        spread = self.squares - self.total * self.total / self.count
        return max(spread / (self.count - 1), 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"count": self.count, "total": self.total, "squares": self.squares}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moments:
        """The inverse of :meth:`to_dict`."""
        return cls(int(data["count"]), float(data["total"]), float(data["squares"]))


def scores(task: str, predictions: np.ndarray, label: Any) -> dict[str, np.ndarray]:
    """Per-row scores of ``predictions`` against one request's label, by metric.

    Empty when the label cannot score this task (a text label for a regressor, any label for a
    clusterer or transformer): the label is still logged for the monitor, just not counted here.
    """
    predicted = np.asarray(predictions).reshape(len(predictions), -1)[:, 0]
    if task == "classifier":
        return {"accuracy": np.array([_same(value, label) for value in predicted], dtype=float)}
    if task != "regressor" or isinstance(label, bool) or not isinstance(label, int | float):
        return {}
    if not math.isfinite(label):
        return {}
    errors = predicted.astype(float) - float(label)
    return {"squared_error": np.square(errors), "absolute_error": np.abs(errors)}


def _same(predicted: Any, label: Any) -> bool:
    """A label equals a prediction as a number when both are numbers (``1`` is ``1.0``, and
    ``True`` is ``1``), else as text (``"yes"``)."""
    if isinstance(predicted, np.generic):
        predicted = predicted.item()
    numbers = (int, float)
    if isinstance(predicted, numbers) and isinstance(label, numbers):
        return float(predicted) == float(label)
    return str(predicted) == str(label)


@dataclass(frozen=True)
class Answered:
    """What a label needs to find its variant: the rollout, variant, task and predictions."""

    rollout: int
    variant: str
    task: str
    predictions: np.ndarray


class AnsweredRequests:
    """Recent rollout answers by request id, bounded; each is handed out once (to its label)."""

    def __init__(self, capacity: int = REMEMBERED) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, Answered] = OrderedDict()

    def remember(self, request_id: str, answered: Answered) -> None:
        """Keep an answer until its label comes or newer answers push it out."""
        self._answers[request_id] = answered
        self._answers.move_to_end(request_id)
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)

    def peek(self, request_id: str) -> Answered | None:
        """The answer a label would find, left in place (one dict read: safe from a thread)."""
        return self._answers.get(request_id)

    def claim(self, request_id: str) -> Answered | None:
        """The answer a label is for, once; None for an unknown or already labelled request."""
        return self._answers.pop(request_id, None)
