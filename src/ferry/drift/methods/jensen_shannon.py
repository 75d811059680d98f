"""Jensen-Shannon distance between category frequencies, base 2 so it lies in [0, 1].

The square root of the symmetric, always-finite cousin of the KL divergence: unlike PSI it needs
no epsilon for categories that one side lacks. The arithmetic is that of
``scipy.spatial.distance.jensenshannon``, except that a divergence rounded just below zero
(identical frequencies) is taken as zero instead of becoming ``sqrt(-1e-17) = NaN``.
"""

from __future__ import annotations

import math

import numpy as np

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.outcome import Outcome


def jensen_shannon(aligned: AlignedCounts) -> Outcome:
    """0 for identical frequencies, 1 for frequencies with no category in common."""
    from scipy.special import rel_entr

    p = aligned.reference / np.sum(aligned.reference)
    q = aligned.current / np.sum(aligned.current)
    middle = (p + q) / 2.0
    divergence = (np.sum(rel_entr(p, middle)) + np.sum(rel_entr(q, middle))) / math.log(2.0)
    return Outcome(math.sqrt(max(float(divergence) / 2.0, 0.0)))
