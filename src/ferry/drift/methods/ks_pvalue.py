"""The asymptotic KS p-value: a fast value with a proven range, scipy's exact one on demand.

``ks_2samp`` (asymptotic) reports ``scipy.stats.kstwo.sf(d, n)``. For large ``n`` and
``s = n * d**2`` between 2.2 and 370 (p-values from about 0.02 down to 1e-160, a mild but real
shift) scipy sums ``n * (1 - d)`` terms of the exact Smirnov distribution: half a second per
column at a million rows on each side. Elsewhere it is cheap, but needs ``scipy.stats``, whose
import costs more than a whole check.

So for ``n >= MIN_FAST_N`` the p-value is first taken from Kolmogorov's limit with the
first-order correction, ``kolmogorov(sqrt(n) * d + 1 / (6 * sqrt(n)))`` (``scipy.special``,
microseconds), together with a range that holds the exact value:

- while ``2 * exp(-2 s) <= ATOL``, the Dvoretzky-Kiefer-Wolfowitz-Massart inequality bounds the
  exact value by ``[0, 2 exp(-2 s)]`` and the fast value lies in the same range;
- otherwise the relative error is at most ``(s**2 + 1) / n``: the first neglected term of the
  expansion is ``4 s**2 / (9 n)``, and a grid of ``n >= 10,000`` and ``s <= 14.2`` (tested)
  stays under half of this bound. When it is above ``RTOL`` the exact value is computed.

A reported p-value is therefore within ``RTOL`` of scipy's (relative) or within ``ATOL``
(absolute, for p-values below it). The decision then asks for the exact value (:func:`kstwo_sf`)
only for columns whose range straddles their threshold (``ferry.drift.decision``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RTOL = 1e-3
"""Largest relative difference between a reported fast p-value and scipy's."""
ATOL = 1e-12
"""Below this, p-values are reported within this absolute difference instead."""
MIN_FAST_N = 10_000
"""Smaller effective sizes take scipy's value directly: it is cheap there, the bound is not tight."""
ZERO_FROM = 370.0
"""scipy's ``kstwo.sf`` is exactly 0.0 from ``n * d**2 >= 370`` (large n)."""
SMIRNOV_FROM = 2.2
"""From this ``n * d**2`` scipy's ``kstwo.sf`` is ``2 * smirnov(n, d)``, the slow sum."""


@dataclass(frozen=True)
class KsPValue:
    """A p-value and the range its exact value is known to lie in (one point when exact)."""

    value: float
    low: float
    high: float

    @property
    def exact(self) -> bool:
        """Whether ``value`` is scipy's own."""
        return self.low == self.high == self.value


def ks_pvalue(statistic: float, effective: float) -> KsPValue:
    """The p-value of ``kstwo.sf(statistic, effective)``: fast with a range, or exact."""
    if effective < MIN_FAST_N:
        return _point(kstwo_sf(statistic, effective))
    s = effective * statistic * statistic
    if s >= ZERO_FROM:
        return _point(0.0)
    from scipy.special import kolmogorov  # scipy.special is light; scipy.stats is not

    root = math.sqrt(effective)
    fast = float(kolmogorov(root * statistic + 1.0 / (6.0 * root)))
    tail = 2.0 * math.exp(-2.0 * s)
    if tail <= ATOL:  # DKW-Massart: 0 <= exact <= tail, and fast <= tail too
        return KsPValue(fast, 0.0, tail)
    error = (s * s + 1.0) / effective
    if error > RTOL:
        return _point(kstwo_sf(statistic, effective))
    return KsPValue(fast, fast / (1.0 + error), min(1.0, fast / (1.0 - error)))


def kstwo_sf(statistic: float, effective: float) -> float:
    """``scipy.stats.kstwo.sf(statistic, effective)`` clipped to [0, 1], bit for bit.

    Where scipy's own value is ``2 * scipy.special.smirnov(n, d)`` (or 0.0) it is computed
    that way, so the slow band does not import ``scipy.stats`` either.
    """
    s = effective * statistic * statistic
    if effective >= MIN_FAST_N and s >= SMIRNOV_FROM:
        if s >= ZERO_FROM:
            return 0.0
        from scipy.special import smirnov

        return float(np.clip(2.0 * smirnov(int(effective), statistic), 0.0, 1.0))
    from scipy import stats  # scipy.stats takes a second to import: only when needed

    return float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def _point(value: float) -> KsPValue:
    return KsPValue(value, value, value)
