"""The detector's keyword arguments, checked once when ``fit`` starts.

The constructor only stores what it is given (the scikit-learn contract, so ``clone`` and
``set_params`` work); this module turns those values into one validated, immutable object, and
every mistake into an :class:`~ferry.errors.InvalidInput` that names the argument.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ferry.drift.methods import CATEGORICAL_TESTS, DEFAULT_THRESHOLDS, NUMERIC_TESTS, P_VALUE_TESTS
from ferry.drift.methods.ks import KS_METHODS
from ferry.drift.performance import check_metric
from ferry.errors import InvalidInput

CORRECTIONS = ("bonferroni", "fdr", "none")


@dataclass(frozen=True)
class DriftSettings:
    """Validated detector settings."""

    numeric_test: str
    categorical_test: str
    thresholds: Mapping[str, float]
    correction: str
    drift_share: float
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    ignore: tuple[str, ...]
    psi_bins: int
    low_cardinality: int
    max_categories: int
    ks_method: str
    n_jobs: int
    performance_metric: str | None
    performance_baseline: float | None
    performance_threshold: float

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DriftSettings:
        """Check every parameter; raise :class:`InvalidInput` naming the first bad one."""
        metric = params["performance_metric"]
        baseline = params["performance_baseline"]
        return cls(
            numeric_test=_choice(params, "numeric_test", NUMERIC_TESTS),
            categorical_test=_choice(params, "categorical_test", CATEGORICAL_TESTS),
            thresholds=_thresholds(params["thresholds"]),
            correction=_choice(params, "correction", CORRECTIONS),
            drift_share=_fraction(params, "drift_share"),
            categorical=_names(params, "categorical"),
            numeric=_names(params, "numeric"),
            ignore=_names(params, "ignore"),
            psi_bins=_integer(params, "psi_bins", minimum=2),
            low_cardinality=_integer(params, "low_cardinality", minimum=0),
            max_categories=_integer(params, "max_categories", minimum=1),
            ks_method=_choice(params, "ks_method", KS_METHODS),
            n_jobs=_jobs(params["n_jobs"]),
            performance_metric=None if metric is None else check_metric(metric),
            performance_baseline=(
                None if baseline is None else _finite(baseline, "performance_baseline")
            ),
            performance_threshold=_fraction(params, "performance_threshold"),
        )

    def threshold(self, test: str) -> float:
        """The configured threshold of ``test``."""
        return self.thresholds[test]


def _choice(params: Mapping[str, Any], name: str, choices: Sequence[str]) -> str:
    value = params[name]
    if value not in choices:
        raise InvalidInput(f"{name}={value!r} is not one of {tuple(choices)}")
    return str(value)


def _thresholds(given: Mapping[str, float] | None) -> Mapping[str, float]:
    merged = dict(DEFAULT_THRESHOLDS)
    for test, value in (given or {}).items():
        if test not in DEFAULT_THRESHOLDS:
            raise InvalidInput(
                f"thresholds has unknown test {test!r}: choose from {tuple(DEFAULT_THRESHOLDS)}"
            )
        number = _finite(value, f"thresholds[{test!r}]")
        if number <= 0 or (test in P_VALUE_TESTS and number >= 1):
            limit = "between 0 and 1" if test in P_VALUE_TESTS else "positive"
            raise InvalidInput(f"thresholds[{test!r}]={value!r} must be {limit}")
        merged[test] = number
    return merged


def _fraction(params: Mapping[str, Any], name: str) -> float:
    value = _finite(params[name], name)
    if not 0 < value <= 1:
        raise InvalidInput(f"{name}={value!r} must be in (0, 1]")
    return value


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name}={value!r} must be a finite number")
    return float(value)


def _integer(params: Mapping[str, Any], name: str, *, minimum: int) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name}={value!r} must be an integer of at least {minimum}")
    return value


def _names(params: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = params[name]
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidInput(f"{name} must be a list of column names, got {value!r}")
    return tuple(str(item) for item in value)


def _jobs(value: Any) -> int:
    """Threads to use: ``None`` or -1 means every core, a positive number means that many."""
    cores = os.cpu_count() or 1
    if value is None or value == -1:
        return cores
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"n_jobs={value!r} must be a positive integer, -1 or None")
    return value
