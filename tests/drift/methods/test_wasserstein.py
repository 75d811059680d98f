"""Wasserstein-1 on sorted samples agrees with scipy; normalised by the reference's std."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from ferry.drift.methods.wasserstein import wasserstein, wasserstein_sorted
from ferry.drift.profile import NumericProfile


def _seeded(seed: int, size: int, decimals: int) -> np.ndarray:
    """Larger samples than hypothesis draws element by element; rounding makes ties."""
    return np.round(np.random.default_rng(seed).standard_t(3, size), decimals)


values = st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 2))
samples = arrays(np.float64, st.integers(1, 60), elements=values) | st.builds(
    _seeded, st.integers(0, 2**32 - 1), st.integers(1, 3000), st.integers(0, 3)
)


@settings(max_examples=150, deadline=None)
@given(first=samples, second=samples)
def test_agrees_with_scipy(first: np.ndarray, second: np.ndarray) -> None:
    expected = stats.wasserstein_distance(first, second)
    actual = wasserstein_sorted(np.sort(first), np.sort(second))
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_agrees_with_scipy_on_large_unequal_samples() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0, 1, 200_000), rng.standard_t(3, 123_457)
    expected = stats.wasserstein_distance(first, second)
    assert wasserstein_sorted(np.sort(first), np.sort(second)) == pytest.approx(expected, rel=1e-9)


def test_normalised_by_reference_std() -> None:
    rng = np.random.default_rng(1)
    reference = np.sort(rng.normal(0.0, 2.0, 50_000))
    profile = NumericProfile.from_sorted(reference, reference.size, psi_bins=10)
    outcome = wasserstein(profile, reference + 1.0)  # every value moved by half a std
    assert outcome.statistic == pytest.approx(1.0 / profile.std)
    assert outcome.details["distance"] == pytest.approx(1.0)


def test_constant_reference_reports_the_raw_distance() -> None:
    profile = NumericProfile.from_sorted(np.full(10, 3.0), 10, psi_bins=10)
    outcome = wasserstein(profile, np.array([3.0, 5.0]))
    assert outcome.statistic is None
    assert outcome.details["distance"] == pytest.approx(1.0)
    assert outcome.note is not None and "std 0" in outcome.note
