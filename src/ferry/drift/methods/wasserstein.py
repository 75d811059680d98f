"""Wasserstein-1 distance, divided by the reference's standard deviation.

In one dimension W1 is the area between the two quantile functions. With both samples sorted it
is a sum over the merged grid of probability levels ``i/n`` and ``j/m``; the grid is built with
integer arithmetic, so no merge sort is needed. Dividing by the reference's standard deviation
makes the number unit-free: 0.1 means the current data sits, on average, a tenth of a standard
deviation away from the reference.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ferry.drift import moments
from ferry.drift.methods.outcome import Outcome
from ferry.drift.profile import NumericProfile

FloatArray = NDArray[np.float64]


def wasserstein_sorted(first: FloatArray, second: FloatArray) -> float:
    """W1 between two non-empty sorted samples (``scipy.stats.wasserstein_distance``, to rounding).

    Temporaries are reused in place: at a million rows, allocating fresh arrays costs more than
    the arithmetic on them.
    """
    longer, shorter = (first, second) if first.size >= second.size else (second, first)
    n, m = longer.size, shorter.size
    if n == m:
        gaps = np.subtract(longer, shorter)
        np.abs(gaps, out=gaps)
        return float(gaps.sum()) / n
    # Level interval i of the longer sample, ((i-1)/n, i/n], meets at most one level j/m of the
    # shorter one. Pair each interval with the shorter sample's value at its right end...
    index = np.arange(1, n + 1, dtype=np.int64)
    index *= m
    index -= 1
    index //= n  # ceil(i * m / n) - 1: the shorter sample's value at level i / n
    paired = shorter[index]
    del index
    np.subtract(longer, paired, out=paired)
    np.abs(paired, out=paired)
    total = float(paired.sum()) / n
    del paired
    # ...then give back the part left of each level j/m (0 < j < m) that lies inside an
    # interval: its width is ((j * n) mod m) / (n * m), and it belongs to the value before.
    scaled = np.arange(1, m, dtype=np.int64)
    scaled *= n
    whole = scaled // m
    remainder = scaled - whole * m
    straddled = longer[whole]
    to_before = np.subtract(straddled, shorter[: m - 1])
    np.abs(to_before, out=to_before)
    np.subtract(straddled, shorter[1:], out=straddled)
    np.abs(straddled, out=straddled)
    np.subtract(to_before, straddled, out=to_before)
    np.multiply(to_before, remainder, out=to_before)
    return total + float(to_before.sum()) / (float(n) * m)


def wasserstein(profile: NumericProfile, current: FloatArray) -> Outcome:
    """Normalised W1; a constant reference has no scale, so the raw distance is shown instead.

    Values near the float limit are scaled into [-1, 1] first, so their gaps cannot overflow.
    """
    scale = moments.magnitude(profile.values, current)
    if scale > moments.SAFE_MAGNITUDE:
        unit = wasserstein_sorted(profile.values / scale, current / scale)
    else:
        scale, unit = 1.0, wasserstein_sorted(profile.values, current)
    distance = moments.capped(unit * scale)
    if not profile.std:
        return Outcome.untestable(
            "the reference is constant (std 0), so the distance cannot be normalised",
            distance=distance,
        )
    normalised = moments.capped(unit * (scale / profile.std)) if unit else 0.0
    return Outcome(normalised, details={"distance": distance})
