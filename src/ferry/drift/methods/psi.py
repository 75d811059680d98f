"""Population stability index, on reference-quantile bins or on categories.

``PSI = sum((q - p) * ln(q / p))`` over bins, with ``p`` the reference and ``q`` the current
share. A bin empty on one side would make the sum infinite, so each share is floored at
:data:`PSI_EPSILON` (1e-4, one row in ten thousand): an emptied or new bin then adds a large,
finite term instead of dominating everything else.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ferry.drift.bins import bin_counts
from ferry.drift.categories import AlignedCounts, proportions
from ferry.drift.methods.outcome import Outcome
from ferry.drift.profile import NumericProfile

PSI_EPSILON = 1e-4


def psi(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """PSI of two count vectors over the same bins."""
    expected = np.maximum(proportions(reference), PSI_EPSILON)
    actual = np.maximum(proportions(current), PSI_EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_psi(profile: NumericProfile, current: NDArray[np.float64]) -> Outcome:
    """PSI over the reference's quantile bins (merged where quantiles repeat)."""
    counts = bin_counts(current, profile.psi_edges)
    return Outcome(psi(profile.psi_counts, counts), details={"bins": int(counts.size)})


def categorical_psi(aligned: AlignedCounts) -> Outcome:
    """PSI over categories; unseen categories are bins the reference left empty."""
    return Outcome(
        psi(aligned.reference, aligned.current), details={"bins": len(aligned.categories)}
    )
