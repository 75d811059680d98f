"""Chi-square test of homogeneity on the 2 x k table of reference and current counts.

``scipy.stats.chi2_contingency`` on the table a user would build with ``pandas.crosstab``, so
statistic and p-value are scipy's (with its default Yates correction when there are only two
categories), computed without importing ``scipy.stats`` (:mod:`.contingency`). Categories the reference never had are columns of the table like any other.
"""

from __future__ import annotations

import numpy as np

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.contingency import chi2_contingency
from ferry.drift.methods.outcome import Outcome


def chi2(aligned: AlignedCounts) -> Outcome:
    """Are reference and current drawn from the same category frequencies?"""
    table = np.vstack((aligned.reference, aligned.current))
    result = chi2_contingency(table)
    return Outcome(result.statistic, result.p_value, {"dof": result.dof})
