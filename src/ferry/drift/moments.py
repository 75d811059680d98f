"""Means, spreads and ratios that stay finite for any finite data, up to the float limit.

A column of 1e308 is valid float64, but its sum is not: a plain ``np.mean`` overflows to inf (and
warns), and so do differences like ``1e308 - (-1e308)``. Values beyond :data:`SAFE_MAGNITUDE` are
scaled into [-1, 1] before they are summed, and scaled back afterwards; a ratio that exceeds the
float range is capped at the largest float, which still reads (and decides) as "drifted".
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

SAFE_MAGNITUDE = 1e150
"""Below this, sums of up to 1e150 values cannot overflow, so no scaling (and no copy) is needed."""

LARGEST = sys.float_info.max


def magnitude(*sorted_arrays: FloatArray) -> float:
    """The largest absolute value in non-empty sorted arrays (their ends hold it)."""
    return max(max(abs(float(values[0])), abs(float(values[-1]))) for values in sorted_arrays)


def mean(sorted_values: FloatArray) -> float:
    """The mean of sorted finite values, finite even when their sum is not."""
    scale = magnitude(sorted_values)
    if scale <= SAFE_MAGNITUDE:
        return float(np.mean(sorted_values))
    return float(np.mean(sorted_values / scale)) * scale


def std(sorted_values: FloatArray) -> float:
    """The population standard deviation (ddof = 0), finite even when the variance is not."""
    scale = magnitude(sorted_values)
    if scale <= SAFE_MAGNITUDE:
        return float(np.std(sorted_values))
    return float(np.std(sorted_values / scale)) * scale


def gap(first: float, second: float) -> float:
    """``|first - second|`` for finite floats, capped at the largest float instead of inf."""
    return capped(abs(float(first) - float(second)))  # Python floats overflow without a warning


def capped(value: float) -> float:
    """``value`` with +inf replaced by the largest float (a statistic must stay finite)."""
    return float(value) if math.isfinite(value) else LARGEST
