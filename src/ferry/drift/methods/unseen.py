"""Categories the reference never had, and numeric values outside the reference's range.

Reported beside the decision: the share of current rows they hold says how much of the current
data the model has never seen. For categories the tests already count that mass (unseen
categories are columns of the chi-square table and bins of PSI); these entries name it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.outcome import Outcome
from ferry.drift.profile import NumericProfile

EXAMPLES = 10
"""How many unseen categories a report names."""


def unseen_categories(aligned: AlignedCounts) -> Outcome:
    """Share of current rows in categories absent from the reference."""
    total = int(aligned.current.sum())
    count = len(aligned.unseen)
    held = int(aligned.current[aligned.current.size - count :].sum()) if count else 0
    return Outcome(
        held / total if total else 0.0,
        details={"categories": count, "examples": list(aligned.unseen[:EXAMPLES])},
    )


def out_of_range(profile: NumericProfile, current: NDArray[np.float64]) -> Outcome:
    """Share of current values below the reference minimum or above its maximum."""
    low, high = float(profile.values[0]), float(profile.values[-1])
    below = int(np.searchsorted(current, low, side="left"))
    above = current.size - int(np.searchsorted(current, high, side="right"))
    return Outcome(
        (below + above) / current.size,
        details={"below": below, "above": above, "reference_min": low, "reference_max": high},
    )
