"""KS: statistic and p-value equal to scipy.stats.ks_2samp in the same mode."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from ferry.drift.methods.ks import (
    _ranges,
    ks_asymptotic,
    ks_exact,
    ks_statistic,
    uses_exact,
)
from ferry.drift.profile import NumericProfile


def _seeded(seed: int, size: int, decimals: int) -> np.ndarray:
    """Larger samples than hypothesis draws element by element; rounding makes ties."""
    return np.round(np.random.default_rng(seed).normal(0.0, 3.0, size), decimals)


# Rounded values give ties inside and across the samples, the case that breaks naive ECDF code.
values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 1))
samples = arrays(np.float64, st.integers(1, 60), elements=values) | st.builds(
    _seeded, st.integers(0, 2**32 - 1), st.integers(1, 3000), st.integers(0, 2)
)
small_ints = arrays(np.float64, st.integers(1, 60), elements=st.integers(0, 6).map(float))


def _profile(reference: np.ndarray) -> NumericProfile:
    ordered = np.sort(reference)
    return NumericProfile.from_sorted(ordered, ordered.size, psi_bins=10)


@settings(max_examples=120, deadline=None)
@given(reference=samples | small_ints, current=samples | small_ints)
def test_asymptotic_mode_equals_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    assume(reference.size + current.size > 2)  # 1 vs 1: scipy's p-value is NaN, see below
    statistic = ks_statistic(_profile(reference), np.sort(current))
    outcome = ks_asymptotic(statistic, reference.size, current.size)
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert outcome.statistic == expected.statistic
    assert outcome.p_value == expected.pvalue


def test_one_value_each_side_gives_p_one_instead_of_nan() -> None:
    outcome = ks_asymptotic(1.0, 1, 1)
    assert outcome.p_value == 1.0
    assert outcome.note is not None


@settings(max_examples=60, deadline=None)
@given(reference=samples, current=samples)
def test_exact_mode_equals_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    outcome = ks_exact(np.sort(reference), np.sort(current), "exact")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = stats.ks_2samp(reference, current, method="exact")
    assert (outcome.statistic, outcome.p_value) == (expected.statistic, expected.pvalue)
    # scipy warns and switches to the asymptotic p-value when the exact one fails; ferry says so
    assert outcome.details["method"] == ("asymp" if caught else "exact")
    assert (outcome.note is not None) == bool(caught)


@pytest.mark.parametrize(
    "make_current",
    [
        lambda rng, n: rng.normal(0.003, 1.0, n),  # a tiny shift: many grid cells stay open
        lambda rng, n: rng.normal(0.0, 1.0, n),
        lambda rng, n: np.round(rng.normal(0.0, 1.0, n), 2),  # heavy ties
        lambda rng, n: np.full(n, 0.25),  # all mass in one cell
        lambda rng, n: rng.normal(5.0, 1.0, n),  # disjoint
    ],
)
def test_statistic_is_exact_on_large_samples(make_current: object) -> None:
    """Large enough that the grid skips most of the data; still scipy's float, bit for bit."""
    rng = np.random.default_rng(3)
    reference = np.round(rng.normal(0.0, 1.0, 150_000), 3)
    current = make_current(rng, 90_001)  # type: ignore[operator]
    statistic = ks_statistic(_profile(reference), np.sort(current))
    assert statistic == stats.ks_2samp(reference, current, method="asymp").statistic


def test_discrete_reference_with_a_continuous_current() -> None:
    rng = np.random.default_rng(4)
    reference = rng.poisson(5.0, 60_000).astype(float)
    current = rng.normal(5.0, 2.0, 40_000)
    statistic = ks_statistic(_profile(reference), np.sort(current))
    assert statistic == stats.ks_2samp(reference, current).statistic


def test_auto_mode_follows_scipy_size_rule() -> None:
    assert uses_exact("auto", 10_000, 10_000)
    assert not uses_exact("auto", 10_001, 5)
    assert uses_exact("exact", 10**6, 10**6)
    assert not uses_exact("asymp", 5, 5)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 10)), max_size=20))
def test_ranges_concatenates_aranges(pairs: list[tuple[int, int]]) -> None:
    starts = np.array([start for start, _ in pairs], dtype=np.int64)
    stops = np.array([start + length for start, length in pairs], dtype=np.int64)
    expected = [index for start, length in pairs for index in range(start, start + length)]
    assert _ranges(starts, stops).tolist() == expected


def test_kolmogorov_mode_uses_the_limiting_distribution() -> None:
    outcome = ks_asymptotic(0.003, 1_000_000, 1_000_000, "kolmogorov")
    assert outcome.p_value == stats.kstwobign.sf(0.003 * np.sqrt(500_000))
    assert outcome.details["method"] == "kolmogorov"
    scipy_value = ks_asymptotic(0.003, 1_000_000, 1_000_000).p_value
    assert outcome.p_value == pytest.approx(scipy_value, rel=0.005)
    assert not uses_exact("kolmogorov", 10, 10)
