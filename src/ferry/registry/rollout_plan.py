"""RolloutPlan: how a candidate is rolled out (mode, steps, pace) and the bounds it must keep.

Parsed once from CLI options or an HTTP body; every bad value is refused with its name, so the
catalog only ever holds plans the analysis can run.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from ferry.errors import InvalidInput

MODES = ("canary", "shadow", "ab")
RUNNING, PROMOTED, ROLLED_BACK, ABORTED = "running", "promoted", "rolled_back", "aborted"
"""The states of a rollout: running until promoted, rolled back (by the analysis) or aborted."""
DEFAULT_STEPS = (5, 25, 50, 100)
DEFAULT_AB_SPLIT = (50,)
LABELS_KEPT = timedelta(days=1)
"""How long a feedback label handed between replicas waits for the replica that answered its
request. That replica claims it at its next tick (a second by default); one still waiting a day
later is for a request no replica remembers (answered before the rollout, by a replica that
restarted, or forgotten)."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DISTANCES = ("psi", "js")
"""Prediction-distribution distances: population stability index, Jensen-Shannon distance."""
AB_METRICS = ("auto", "accuracy", "squared_error", "absolute_error")
"""What an A/B test compares: ``auto`` is accuracy for classifiers, squared error for regressors."""


@dataclass(frozen=True)
class Bounds:
    """What the candidate must keep, checked on each interval's figures."""

    max_error_rate: float = 0.01
    max_latency_ratio: float = 1.5
    max_latency_ms: float | None = None
    max_disagreement: float = 0.05
    failure_limit: int = 2
    min_samples: int = 100
    max_samples: int = 10_000
    alpha: float = 0.05
    metric: str = "auto"
    min_accuracy: float | None = None
    max_mean_error: float | None = None
    max_distance: float | None = None
    distance: str = "psi"

    def __post_init__(self) -> None:
        _fraction("max_error_rate", self.max_error_rate)
        self._check_samples()
        if self.min_accuracy is not None:
            _fraction("min_accuracy", self.min_accuracy)
        if self.max_mean_error is not None:
            _positive("max_mean_error", self.max_mean_error)
        if self.max_distance is not None:
            _positive("max_distance", self.max_distance)
        if self.distance not in DISTANCES:
            raise InvalidInput(
                f"distance must be one of {', '.join(DISTANCES)}, got {self.distance!r}"
            )
        _fraction("max_disagreement", self.max_disagreement)
        _positive("max_latency_ratio", self.max_latency_ratio)
        if self.max_latency_ms is not None:
            _positive("max_latency_ms", self.max_latency_ms)
        if not isinstance(self.failure_limit, int) or self.failure_limit < 1:
            raise InvalidInput(
                f"failure_limit must be a whole number >= 1, got {self.failure_limit!r}"
            )

    def _check_samples(self) -> None:
        """The A/B test's settings: labelled outcomes per arm, level and metric."""
        for name in ("min_samples", "max_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise InvalidInput(f"{name} must be a whole number >= 2, got {value!r}")
        if self.max_samples < self.min_samples:
            raise InvalidInput(
                f"max_samples ({self.max_samples}) must be at least min_samples ({self.min_samples})"
            )
        if (
            isinstance(self.alpha, bool)
            or not isinstance(self.alpha, int | float)
            or not (0 < self.alpha < 1)
        ):
            raise InvalidInput(f"alpha must be a level in (0, 1), got {self.alpha!r}")
        if self.metric not in AB_METRICS:
            raise InvalidInput(
                f"metric must be one of {', '.join(AB_METRICS)}, got {self.metric!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the catalog, shown by status)."""
        return asdict(self)


@dataclass(frozen=True)
class RolloutPlan:
    """Mode, traffic steps (percent), time per step, requests per step, and bounds.

    ``canary`` walks ``steps`` of answered traffic; ``shadow`` walks the share of requests the
    candidate answers a copy of (users always get the primary); ``ab`` holds one split
    (``steps[0]``, default 50) until a significance test on labelled outcomes decides (or a
    person does), rolling back on a bound.
    """

    mode: str = "canary"
    steps: tuple[int, ...] = DEFAULT_STEPS
    interval_seconds: float = 600.0
    min_requests: int = 100
    bounds: Bounds = field(default_factory=Bounds)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        check_steps(self.steps)
        _positive("interval", self.interval_seconds)
        if not isinstance(self.min_requests, int) or self.min_requests < 1:
            raise InvalidInput(
                f"min_requests must be a whole number >= 1, got {self.min_requests!r}"
            )

    @property
    def uses_labels(self) -> bool:
        """True when feedback labels are judged (an A/B test or a metric floor): only then do
        servers remember which variant answered each request."""
        bounds = self.bounds
        return self.mode == "ab" or bounds.min_accuracy is not None or (
            bounds.max_mean_error is not None
        )  # fmt: skip

    @property
    def compares_distributions(self) -> bool:
        """True when a distance bound is set: only then do variants count their predictions."""
        return self.bounds.max_distance is not None


def check_steps(steps: tuple[int, ...]) -> tuple[int, ...]:
    """Steps are whole percentages in 1..100, strictly increasing."""
    if not steps:
        raise InvalidInput("steps must name at least one percentage, e.g. 5,25,50,100")
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 100:
            raise InvalidInput(f"each step must be a whole percentage in 1..100, got {step!r}")
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        raise InvalidInput(f"steps must increase, got {','.join(map(str, steps))}")
    return steps


def parse_steps(text: str) -> tuple[int, ...]:
    """``"5,25,50,100"`` → ``(5, 25, 50, 100)``."""
    try:
        steps = tuple(int(part.strip().removesuffix("%")) for part in text.split(","))
    except ValueError:
        raise InvalidInput(
            f"steps must be comma-separated percentages, e.g. 5,25,50,100; got {text!r}"
        ) from None
    return check_steps(steps)


def parse_duration(text: str) -> float:
    """``"10m"``, ``"30s"``, ``"1h"`` or plain seconds → seconds."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(f"invalid interval {text!r}: use e.g. 30s, 10m or 1h")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    return _positive("interval", seconds)


def default_steps(mode: str) -> tuple[int, ...]:
    """A/B holds one even split; canary and shadow walk 5, 25, 50, 100."""
    return DEFAULT_AB_SPLIT if mode == "ab" else DEFAULT_STEPS


def _fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(f"{name} must be a fraction in 0..1, got {value!r}")
    return float(value)


def _positive(name: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInput(f"{name} must be a positive number, got {value!r}")
    return float(value)


PLAN_KEYS = frozenset(
    {"mode", "steps", "interval", "min_requests", "max_error_rate", "max_latency_ratio",
     "max_latency_ms", "max_disagreement", "failure_limit", "min_samples", "max_samples",
     "alpha", "metric", "min_accuracy", "max_mean_error", "max_distance", "distance"}
)  # fmt: skip
"""The options a plan is built from (CLI flags, keys of ``POST /rollouts``)."""


def plan_of(options: dict[str, Any]) -> RolloutPlan:
    """A plan from options that were given (None or absent means the default).

    ``steps`` may be ``"5,25,50,100"`` or a list; ``interval`` ``"10m"`` or seconds.
    """
    unknown = sorted(set(options) - PLAN_KEYS)
    if unknown:
        raise InvalidInput(f"unknown rollout option(s) {unknown}; known: {sorted(PLAN_KEYS)}")
    given = {key: value for key, value in options.items() if value is not None}
    mode = given.pop("mode", "canary")
    steps = given.pop("steps", None)
    if isinstance(steps, str):
        steps = parse_steps(steps)
    elif isinstance(steps, list):
        steps = check_steps(tuple(steps))
    elif steps is not None:
        raise InvalidInput(f"steps must be a list of percentages or '5,25,50,100', got {steps!r}")
    interval = given.pop("interval", 600.0)
    interval = (
        parse_duration(interval) if isinstance(interval, str) else _positive("interval", interval)
    )
    plan = {"min_requests": given.pop("min_requests")} if "min_requests" in given else {}
    return RolloutPlan(
        mode=mode, steps=steps or default_steps(mode), interval_seconds=interval,
        bounds=Bounds(**given), **plan,
    )  # fmt: skip
