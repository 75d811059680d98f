"""Mean shift in reference standard deviations: ``|mean_cur - mean_ref| / std_ref``.

The seed's rule, kept because everybody can read it: drift when the current mean moved more than
two reference standard deviations. It ignores shape and spread, which the other tests cover.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ferry.drift import moments
from ferry.drift.methods.outcome import Outcome
from ferry.drift.profile import NumericProfile


def mean_shift(profile: NumericProfile, current: NDArray[np.float64]) -> Outcome:
    """The distance between the means, in reference standard deviations."""
    current_mean = moments.mean(current)
    details = {"reference_mean": profile.mean, "current_mean": current_mean, "std": profile.std}
    if not profile.std or profile.mean is None:
        return Outcome.untestable(
            "the reference is constant (std 0), so a shift has no scale", **details
        )
    shift = moments.capped(moments.gap(current_mean, profile.mean) / profile.std)
    return Outcome(shift, details=details)
