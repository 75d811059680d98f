"""One statistical test per module, and the names and default thresholds that select them.

Every default is explained in ``docs/drift.md``. In short: p-value tests reject at 5% before the
multiple-testing correction; effect sizes use the levels practitioners already read them at.
"""

from __future__ import annotations

from types import MappingProxyType

NUMERIC_TESTS = ("ks", "wasserstein", "psi", "mean_shift")
"""Tests that can decide for a numeric column (all of them are computed and reported)."""

CATEGORICAL_TESTS = ("chi2", "psi", "jensen_shannon")
"""Tests that can decide for a categorical column."""

P_VALUE_TESTS = frozenset({"ks", "chi2"})
"""Tests whose threshold is a significance level, corrected for the number of columns."""

DEFAULT_THRESHOLDS = MappingProxyType(
    {
        "ks": 0.05,
        "chi2": 0.05,
        "psi": 0.2,
        "wasserstein": 0.1,
        "jensen_shannon": 0.1,
        "mean_shift": 2.0,
        "missing_rate": 0.05,
    }
)
"""Significance levels for p-value tests, effect-size levels for the rest."""
