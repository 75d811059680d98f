"""The fast asymptotic KS p-value: inside its range, within the documented precision of scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ferry.drift.methods.ks_pvalue import ATOL, MIN_FAST_N, RTOL, ks_pvalue, kstwo_sf

# Effective sizes across the fast path's start, scipy's switches (100,000 for DMTW) and 1M rows.
SIZES = [MIN_FAST_N, 23_456, 100_001]
# s = n * d**2: p-values from 1 down to 0, dense around scipy's 2.2 switch and the DKW limit.
SCALES = [*np.geomspace(1e-4, 369.0, 24), 2.1999, 2.2, 2.2001, 14.15, 14.17, 370.0]


def _scipy(statistic: float, effective: float) -> float:
    return float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


@pytest.mark.parametrize("effective", SIZES)
def test_fast_value_is_within_the_documented_precision(effective: int) -> None:
    for scale in SCALES:
        statistic = float(np.sqrt(scale / effective))
        fast, exact = ks_pvalue(statistic, effective), _scipy(statistic, effective)
        assert fast.low <= exact <= fast.high, (effective, scale, fast, exact)
        assert abs(fast.value - exact) <= max(RTOL * exact, ATOL), (effective, scale, fast, exact)
        assert fast.low <= fast.value <= fast.high


def test_a_million_rows_a_side_in_scipys_slow_band() -> None:
    """The case the shortcut is for; a few points, scipy needs half a second for each."""
    effective = 500_000
    for scale in (2.3, 9.0):
        statistic = float(np.sqrt(scale / effective))
        fast, exact = ks_pvalue(statistic, effective), _scipy(statistic, effective)
        assert not fast.exact
        assert fast.low <= exact <= fast.high
        assert abs(fast.value - exact) <= RTOL * exact


@pytest.mark.parametrize("effective", [1, 2, 50, 141, 5_000, MIN_FAST_N - 1])
def test_small_sizes_are_scipys_value(effective: int) -> None:
    for statistic in (0.001, 0.01, 0.05, 0.2, 0.5, 0.99, 1.0):
        p_value = ks_pvalue(statistic, effective)
        assert p_value.exact
        assert p_value.value == _scipy(statistic, effective)


@pytest.mark.parametrize("effective", [MIN_FAST_N, 54_321])
def test_exact_value_is_scipys_bit_for_bit(effective: int) -> None:
    for scale in (0.5, 2.2, 3.0, 50.0, 369.9, 370.0, 1e4):
        statistic = min(1.0, float(np.sqrt(scale / effective)))
        assert kstwo_sf(statistic, effective) == _scipy(statistic, effective)
    for statistic in (0.5, 0.9, 1.0):
        assert kstwo_sf(statistic, effective) == _scipy(statistic, effective)
