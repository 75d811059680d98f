"""Reference bins: quantiles are reference values; counts cover every value exactly once."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ferry.drift.bins import bin_counts, display_edges, quantile_edges, sorted_quantiles

samples = arrays(np.float64, st.integers(1, 200), elements=st.integers(-20, 20).map(float))


@settings(max_examples=150, deadline=None)
@given(values=samples, denominator=st.integers(1, 120))
def test_quantile_is_the_smallest_value_whose_ecdf_reaches_the_level(
    values: np.ndarray, denominator: int
) -> None:
    """Checked in exact integer arithmetic: ECDF(v) >= k / d  <=>  count(<= v) * d >= k * n."""
    ordered = np.sort(values)
    at_most = np.searchsorted(ordered, ordered, side="right")
    numerators = np.arange(1, denominator)
    quantiles = sorted_quantiles(ordered, numerators, denominator)
    for level, quantile in zip(numerators, quantiles, strict=True):
        reached = at_most * denominator >= int(level) * ordered.size
        assert quantile == ordered[int(np.argmax(reached))]


@settings(max_examples=60, deadline=None)
@given(values=samples, current=samples)
def test_counts_cover_every_value_once(values: np.ndarray, current: np.ndarray) -> None:
    edges = quantile_edges(np.sort(values), 10)
    counts = bin_counts(np.sort(current), edges)
    assert counts.size == edges.size + 1
    assert int(counts.sum()) == current.size
    expected = np.bincount(np.searchsorted(edges, current, side="left"), minlength=counts.size)
    assert counts.tolist() == expected.tolist()  # right-closed bins


def test_display_edges_survive_a_constant_reference() -> None:
    edges = display_edges(np.full(50, 2.0))
    assert edges[0] < 2.0 < edges[-1]
    assert np.all(np.diff(edges) > 0)
