"""Change in the share of missing values, with a chi-square test of the 2 x 2 table.

A column that starts arriving empty is drift even when the values that do arrive look the same,
so missingness is judged on its own: the change in rate is the statistic, and scipy's
``chi2_contingency`` on (missing, present) x (reference, current) (as :mod:`.contingency`
computes it) gives the p-value that keeps a handful of missing rows in a small batch from
raising an alarm.
"""

from __future__ import annotations

import numpy as np

from ferry.drift.methods.contingency import chi2_contingency
from ferry.drift.methods.outcome import Outcome


def missing_rate(
    reference_missing: int, reference_rows: int, current_missing: int, current_rows: int
) -> Outcome:
    """Current minus reference missing rate (signed), and the p-value of the difference."""
    before = reference_missing / reference_rows
    after = current_missing / current_rows
    table = np.array(
        [
            [reference_missing, reference_rows - reference_missing],
            [current_missing, current_rows - current_missing],
        ]
    )
    if (table.sum(axis=0) == 0).any():
        p_value = 1.0  # nothing missing anywhere, or nothing present anywhere: no difference
    else:
        p_value = chi2_contingency(table).p_value
    return Outcome(after - before, p_value, {"reference": before, "current": after})
