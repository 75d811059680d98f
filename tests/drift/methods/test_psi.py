"""PSI on reference-quantile bins and on categories, with the documented epsilon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.psi import PSI_EPSILON, categorical_psi, numeric_psi, psi
from ferry.drift.profile import NumericProfile


def test_identical_distributions_have_zero_psi() -> None:
    counts = np.array([10, 20, 30], dtype=np.int64)
    assert psi(counts, counts * 3) == 0.0


def test_matches_the_formula() -> None:
    reference = np.array([50, 30, 20], dtype=np.int64)
    current = np.array([30, 30, 40], dtype=np.int64)
    expected = sum(
        (q - p) * math.log(q / p) for p, q in zip([0.5, 0.3, 0.2], [0.3, 0.3, 0.4], strict=True)
    )
    assert psi(reference, current) == pytest.approx(expected)


def test_an_emptied_bin_is_large_but_finite() -> None:
    value = psi(np.array([50, 50], dtype=np.int64), np.array([100, 0], dtype=np.int64))
    expected = (1.0 - 0.5) * math.log(1.0 / 0.5) + (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5)
    assert value == pytest.approx(expected)
    assert math.isfinite(value)


def test_numeric_psi_uses_reference_deciles() -> None:
    rng = np.random.default_rng(0)
    reference = np.sort(rng.normal(size=100_000))
    profile = NumericProfile.from_sorted(reference, reference.size, psi_bins=10)
    assert profile.psi_edges.size == 9
    assert profile.psi_counts.tolist() == [10_000] * 10
    same = numeric_psi(profile, np.sort(rng.normal(size=100_000)))
    moved = numeric_psi(profile, np.sort(rng.normal(0.5, 1.0, 100_000)))
    assert same.statistic is not None and same.statistic < 0.01
    assert moved.statistic is not None and moved.statistic > 0.2


def test_repeated_quantiles_merge_bins() -> None:
    reference = np.sort(np.repeat([1.0, 2.0, 3.0], [800, 100, 100]))
    profile = NumericProfile.from_sorted(reference, reference.size, psi_bins=10)
    assert profile.psi_edges.tolist() == [1.0, 2.0]  # reference values, never in between
    assert profile.psi_counts.tolist() == [800, 100, 100]


def test_unseen_categories_count_as_emptied_reference_bins() -> None:
    aligned = AlignedCounts.align(
        ("a", "b"), np.array([60, 40], dtype=np.int64), {"a": 50, "b": 40, "new": 10}
    )
    outcome = categorical_psi(aligned)
    expected = psi(np.array([60, 40, 0]), np.array([50, 40, 10]))
    assert outcome.statistic == pytest.approx(expected)
    assert outcome.details["bins"] == 3
