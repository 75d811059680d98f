"""Multiple-testing correction: the p-value threshold each column is held to.

Testing 25 columns at 5% each raises a false alarm on about one dataset in four even when nothing
changed. ``bonferroni`` divides each level by the number of tested columns (a false alarm on any
column in at most 5% of checks); ``fdr`` is Benjamini-Hochberg (at most 5% of flagged columns
are false, more power when many columns move); ``none`` tests each column at its own level.
Columns may use different levels (KS and chi-square thresholds are separate settings), so the
procedures run on ``p / level`` against 1, which is the textbook rule when levels are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def corrected_thresholds(
    p_values: Sequence[float], levels: Sequence[float], method: str
) -> list[float]:
    """The threshold for each p-value: the column drifts when ``p <= threshold``."""
    count = len(p_values)
    if count == 0 or method == "none":
        return list(levels)
    if method == "bonferroni":
        return [level / count for level in levels]
    scaled = np.asarray(p_values, dtype=np.float64) / np.asarray(levels, dtype=np.float64)
    ordered = np.sort(scaled)
    passing = np.flatnonzero(ordered <= np.arange(1, count + 1) / count)
    rank = int(passing[-1]) + 1 if passing.size else 1
    return [level * rank / count for level in levels]
