"""Counts from known ranks equal numpy's binary search, ties and signed zeros included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ferry.drift.profile import KS_GRID_SIZE, NumericProfile, grid_positions
from ferry.drift.ranks import counts_below, run_ends, run_starts

# Few distinct values (ties everywhere), -0.0 beside 0.0, and plain floats.
tied = st.sampled_from([-2.0, -0.0, 0.0, 1.5, 3.0])
plain = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(0, 80), elements=tied | plain).map(np.sort)


@settings(max_examples=200, deadline=None)
@given(values=samples, data=st.data())
def test_run_bounds_equal_searchsorted(values: np.ndarray, data: st.DataObject) -> None:
    picks = data.draw(st.lists(st.integers(0, max(values.size - 1, 0)), max_size=20))
    positions = np.array(sorted(picks) if values.size else [], dtype=np.int64)
    at = values[positions]
    assert np.array_equal(run_starts(values, positions), np.searchsorted(values, at, "left"))
    assert np.array_equal(run_ends(values, positions), np.searchsorted(values, at, "right"))


@settings(max_examples=200, deadline=None)
@given(values=samples, points=arrays(np.float64, st.integers(0, 20), elements=tied | plain))
def test_counts_below_equal_searchsorted(values: np.ndarray, points: np.ndarray) -> None:
    up_to = np.searchsorted(values, points, side="right")
    below = counts_below(values, points, up_to)
    assert np.array_equal(below, np.searchsorted(values, points, side="left"))


def test_grid_bounds_equal_searchsorted_on_large_tied_and_constant_columns() -> None:
    rng = np.random.default_rng(5)
    columns = [
        np.sort(rng.normal(0.0, 1.0, 200_000)),
        np.sort(np.round(rng.normal(0.0, 1.0, 200_000), 2)),  # runs span grid steps
        np.sort(rng.poisson(3.0, 100_000).astype(np.float64)),
        np.full(50_000, 7.0),
        np.array([1.0]),
        np.empty(0),
    ]
    for values in columns:
        profile = NumericProfile.from_sorted(values, values.size, psi_bins=10)
        step = max(1, values.size // KS_GRID_SIZE)
        grid = np.unique(values[step - 1 :: step])  # every step-th value, each distinct once
        assert np.array_equal(profile.grid, grid)
        assert np.array_equal(values[grid_positions(values)], grid)
        assert np.array_equal(profile.grid_left, np.searchsorted(values, grid, "left"))
        assert np.array_equal(profile.grid_right, np.searchsorted(values, grid, "right"))
