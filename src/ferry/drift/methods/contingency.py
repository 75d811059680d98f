"""Pearson's chi-square test of a contingency table, as ``scipy.stats.chi2_contingency`` does it.

Importing ``scipy.stats`` takes 0.7-1.2 s, more than a whole drift check of a million rows, and
``ferry drift`` runs once per process. The test itself is a few array operations and one special
function, so it is written out here with scipy's arithmetic step for step (expected counts from
the margins, Yates' continuity correction when there is one degree of freedom, the chi-square
survival function ``scipy.special.chdtrc``): same statistic and p-value, to the last bits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


class Chi2Result(NamedTuple):
    """Statistic, p-value and degrees of freedom of the test."""

    statistic: float
    p_value: float
    dof: int


def chi2_contingency(observed: ArrayLike) -> Chi2Result:
    """``scipy.stats.chi2_contingency(observed)`` (Yates' correction on, Pearson's statistic)."""
    from scipy.special import chdtrc  # scipy.special is light; scipy.stats is not

    table = np.asarray(observed, dtype=np.float64)
    if np.any(table < 0):
        raise ValueError("All values in `observed` must be nonnegative.")
    if table.size == 0:
        raise ValueError("No data; `observed` has size 0.")
    if table.sum() == 0:  # scipy divides by zero here; no counts is no evidence either way
        raise ValueError("No data; `observed` counts nothing.")
    expected = _expected(table)
    if np.any(expected == 0):
        position = tuple(int(index) for index in np.argwhere(expected == 0)[0])
        raise ValueError(
            f"The internally computed table of expected frequencies has a zero element at {position}."
        )
    dof = expected.size - sum(expected.shape) + expected.ndim - 1
    if dof == 0:  # one non-trivial dimension: observed equals expected
        return Chi2Result(0.0, 1.0, 0)
    if dof == 1:  # Yates, never moving a count past its expected value (scipy gh-13875)
        diff = expected - table
        table = table + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(((table - expected) ** 2 / expected).sum())
    return Chi2Result(statistic, float(chdtrc(dof, statistic)), dof)


def _expected(table: FloatArray) -> FloatArray:
    """Expected counts under independence: the outer product of the margins over the total."""
    rows: FloatArray = table.sum(axis=1, keepdims=True)
    columns: FloatArray = table.sum(axis=0, keepdims=True)
    expected: FloatArray = rows * columns / table.sum()
    return expected
