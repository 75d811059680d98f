"""Two-sample Kolmogorov-Smirnov test, equal to ``scipy.stats.ks_2samp`` in the same mode.

The statistic is the largest gap between the two empirical CDFs. scipy finds it by evaluating
both CDFs at every point of both samples; here the reference is sorted once in ``fit`` and a
coarse grid of reference points is evaluated first. A grid cell can only hold the maximum if
the gap at its edges, plus the probability mass inside it, exceeds the best gap found so far, so
only those few cells are opened and evaluated point by point with scipy's own arithmetic; a
point's count in its own sample comes from its position (:mod:`ferry.drift.ranks`), so only the
other sample is searched. The result is the same float as scipy's, at the cost of a sort of the
current data.

The p-value follows scipy's ``method``: ``"auto"`` is exact while both samples have at most
10,000 values and asymptotic above; ``"exact"`` and small samples are handed to ``ks_2samp``
itself. The asymptotic branch is ``scipy.stats.kstwo.sf`` as ``ks_2samp`` computes it, taken
from a fast approximation with a proven range where scipy's is slow
(:mod:`ferry.drift.methods.ks_pvalue`); the exact value is computed when a decision needs it.
``"kolmogorov"`` (not a scipy mode) takes Kolmogorov's limiting distribution instead,
``kstwobign.sf(d * sqrt(n))``, within 0.8% of ``kstwo`` for p >= 1e-10 once the effective size
passes 100,000 (3% at 10,000).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from numpy.typing import NDArray

from ferry.drift.methods.ks_pvalue import ks_pvalue, kstwo_sf
from ferry.drift.methods.outcome import Outcome
from ferry.drift.profile import NumericProfile
from ferry.drift.ranks import counts_below, run_ends

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

KS_METHODS = ("auto", "exact", "asymp", "kolmogorov")
MAX_AUTO_EXACT = 10_000
"""scipy's ``ks_2samp(method="auto")`` is exact while both samples have at most this many values."""


def uses_exact(method: str, n_reference: int, n_current: int) -> bool:
    """Whether scipy would try the exact p-value for these sizes."""
    if method == "auto":
        return max(n_reference, n_current) <= MAX_AUTO_EXACT
    return method == "exact"


def ks_statistic(profile: NumericProfile, current: FloatArray) -> float:
    """The two-sided KS statistic of the reference against sorted finite ``current`` values."""
    ref = profile.values
    n1, n2 = ref.size, current.size
    cur_right = np.searchsorted(current, profile.grid, side="right").astype(np.int64)
    cur_left = counts_below(current, profile.grid, cur_right)
    best = float(np.max(np.abs(profile.grid_right / n1 - cur_right / n2)))
    # Cells are the open intervals between grid values, plus the two unbounded ends.
    ref_low = np.concatenate(([0], profile.grid_right))
    ref_high = np.concatenate((profile.grid_left, [n1]))
    cur_low = np.concatenate(([0], cur_right))
    cur_high = np.concatenate((cur_left, [n2]))
    bound = np.maximum(ref_high / n1 - cur_low / n2, cur_high / n2 - ref_low / n1)
    opened = np.flatnonzero(bound > best)
    if opened.size == 0:
        return best
    # Each sample's own points know their rank in it; only the other sample is searched.
    at_ref = _ranges(ref_low[opened], ref_high[opened])
    at_cur = _ranges(cur_low[opened], cur_high[opened])
    if at_ref.size + at_cur.size == 0:
        return best
    ref_points, cur_points = ref[at_ref], current[at_cur]
    gaps = np.concatenate(
        (
            run_ends(ref, at_ref) / n1 - np.searchsorted(current, ref_points, side="right") / n2,
            np.searchsorted(ref, cur_points, side="right") / n1 - run_ends(current, at_cur) / n2,
        )
    )
    return max(best, float(np.max(np.abs(gaps))))


def _ranges(starts: IntArray, stops: IntArray) -> IntArray:
    """``concatenate([arange(a, b) for a, b in zip(starts, stops)])`` without a Python loop."""
    lengths = (stops - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    shift = starts - (np.cumsum(lengths) - lengths)
    return np.repeat(shift, lengths) + np.arange(total, dtype=np.int64)


def ks_asymptotic(
    statistic: float, n_reference: int, n_current: int, method: str = "asymp"
) -> Outcome:
    """The asymptotic two-sided p-value: as ``ks_2samp`` computes it, or Kolmogorov's limit.

    ``ks_2samp``'s value may come as a fast approximation within its documented precision;
    the outcome's ``p_range`` then holds scipy's value and ``exact`` computes it.
    """
    larger, smaller = sorted((float(n_reference), float(n_current)), reverse=True)
    effective = float(np.round(larger * smaller / (larger + smaller)))
    if method == "kolmogorov":
        from scipy.special import kolmogorov  # what kstwobign.sf computes, without scipy.stats

        limit = float(kolmogorov(statistic * np.sqrt(effective)))
        return Outcome(statistic, limit, {"method": "kolmogorov"})
    if effective < 1:  # one value on each side: scipy divides by zero and returns NaN
        return Outcome(statistic, 1.0, {"method": "asymp"}, "too few values for a p-value")
    p_value = ks_pvalue(statistic, effective)
    if p_value.exact:
        return Outcome(statistic, p_value.value, {"method": "asymp"})
    return Outcome(
        statistic,
        p_value.value,
        {"method": "asymp"},
        p_range=(p_value.low, p_value.high),
        exact=functools.partial(_exact_asymptotic, statistic, effective),
    )


def _exact_asymptotic(statistic: float, effective: float) -> Outcome:
    return Outcome(statistic, kstwo_sf(statistic, effective), {"method": "asymp"})


def ks_exact(reference: FloatArray, current: FloatArray, method: str) -> Outcome:
    """Small samples: ``ks_2samp`` itself, which also rounds the statistic to its lattice.

    When scipy cannot finish the exact computation it warns and falls back to the asymptotic
    p-value; that is recorded in the outcome instead. Warning filters are process-wide, so call
    this from one thread at a time (the detector calls it after its parallel part).
    """
    from scipy import stats

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stats.ks_2samp(reference, current, method=method)
    messages = [str(warning.message) for warning in caught]
    used = "asymp" if messages else "exact"
    note = "; ".join(messages) if messages else None
    return Outcome(float(result.statistic), float(result.pvalue), {"method": used}, note)
