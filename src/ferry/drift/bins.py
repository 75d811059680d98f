"""Bin edges learned from the reference, and counts of sorted values per bin.

Bins are right-closed: ``(-inf, e0], (e0, e1], ..., (e_last, +inf)``, so ``k`` edges make
``k + 1`` bins and nothing falls outside. On sorted values a count per bin is one binary search
per edge, which is why both PSI and the report's histograms work on sorted data.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DISPLAY_BINS = 20
"""Bins between the reference's 0.5% and 99.5% quantiles in a report histogram."""

DISPLAY_TAIL = 200
"""The display range leaves out 1/200 (0.5%) of the reference on each side."""


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """How many of ``sorted_values`` fall in each of the ``len(edges) + 1`` bins."""
    inside = np.searchsorted(sorted_values, edges, side="right").astype(np.int64)
    bounds = np.concatenate(([0], inside, [sorted_values.size])).astype(np.int64)
    return np.diff(bounds)


def quantile_edges(sorted_values: FloatArray, bins: int) -> FloatArray:
    """The distinct interior edges of ``bins`` equal-frequency bins of the reference.

    Edges are reference values (the inverse of the empirical CDF, no interpolation), so a bin
    never falls between the values of a discrete column. Discrete or constant columns repeat
    quantiles; repeats are merged, so such a column gets fewer bins, none empty by construction.
    """
    if sorted_values.size == 0:
        return np.empty(0, dtype=np.float64)
    return distinct_sorted(sorted_quantiles(sorted_values, np.arange(1, bins), bins))


def display_edges(sorted_values: FloatArray) -> FloatArray:
    """Equal-width edges over the bulk of the reference; the two outer bins take the tails."""
    if sorted_values.size == 0:
        return np.array([-0.5, 0.5])
    low, high = sorted_quantiles(sorted_values, np.array([1, DISPLAY_TAIL - 1]), DISPLAY_TAIL)
    if not low < high:
        low, high = sorted_values[0], sorted_values[-1]
    if not low < high:
        low, high = low - 0.5, high + 0.5
    if not np.isfinite(float(high) - float(low)):  # a range wider than the float limit
        return np.linspace(low / 2, high / 2, DISPLAY_BINS + 1) * 2
    return np.linspace(low, high, DISPLAY_BINS + 1)


def sorted_quantiles(
    sorted_values: FloatArray, numerators: IntArray, denominator: int
) -> FloatArray:
    """Quantiles ``k / denominator`` of sorted values: the smallest value whose ECDF reaches them.

    Index arithmetic in integers on data that is already sorted; ``np.quantile`` would partition
    a copy of it again (and ``0.3 * 10`` is not exactly 3 in floating point).
    """
    size = sorted_values.size
    index = (numerators.astype(np.int64) * size + denominator - 1) // denominator - 1
    return sorted_values[np.clip(index, 0, size - 1)]


def distinct_sorted(sorted_values: FloatArray) -> FloatArray:
    """The distinct values of an already sorted array (no second sort)."""
    return sorted_values[first_of_runs(sorted_values)]


def first_of_runs(sorted_values: FloatArray) -> NDArray[np.bool_]:
    """True where a sorted array's value differs from the one before (and at the start)."""
    keep = np.empty(sorted_values.size, dtype=bool)
    if sorted_values.size:
        keep[0] = True
        np.not_equal(sorted_values[1:], sorted_values[:-1], out=keep[1:])
    return keep
