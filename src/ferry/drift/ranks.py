"""Counts of sorted values below or up to a point, without a binary search where one is known.

KS compares empirical CDFs, and an ECDF at a point is ``np.searchsorted(values, point,
side)`` on sorted values. At a million values each search walks about twenty cache lines, so
the thousands of searches per column cost as much as sorting it. Two cases need no search:

- the point is a value of the same array, at a known position: its run of equal values starts
  and ends right there unless a neighbour ties with it;
- the count up to the point (``side="right"``) is known: the count below it differs only when
  the value just before equals the point.

Only the tied points are searched, so the results equal ``np.searchsorted`` (ties, signed
zeros and all) on sorted finite values, at a fraction of its cost on continuous data.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def run_starts(sorted_values: FloatArray, positions: IntArray) -> IntArray:
    """``np.searchsorted(sorted_values, sorted_values[positions], side="left")``."""
    positions = positions.astype(np.int64, copy=False)
    starts = positions.copy()
    before = np.maximum(positions - 1, 0)
    tied = (positions > 0) & (sorted_values[before] == sorted_values[positions])
    if tied.any():
        starts[tied] = np.searchsorted(sorted_values, sorted_values[positions[tied]], side="left")
    return starts


def run_ends(sorted_values: FloatArray, positions: IntArray) -> IntArray:
    """``np.searchsorted(sorted_values, sorted_values[positions], side="right")``."""
    positions = positions.astype(np.int64, copy=False)
    ends = positions + 1
    after = np.minimum(ends, max(sorted_values.size - 1, 0))
    tied = (ends < sorted_values.size) & (sorted_values[after] == sorted_values[positions])
    if tied.any():
        ends[tied] = np.searchsorted(sorted_values, sorted_values[positions[tied]], side="right")
    return ends


def counts_below(sorted_values: FloatArray, points: FloatArray, counts_up_to: IntArray) -> IntArray:
    """``np.searchsorted(sorted_values, points, side="left")`` from the ``side="right"`` one.

    The two differ exactly when some value equals the point, and then the last value counted
    up to the point is one.
    """
    below = counts_up_to.astype(np.int64, copy=True)
    last = np.maximum(below - 1, 0)
    tied = (below > 0) & (sorted_values[last] == points) if sorted_values.size else below > 0
    if tied.any():
        below[tied] = np.searchsorted(sorted_values, points[tied], side="left")
    return below
