"""Mean shift in reference standard deviations (the seed's 2-sigma rule)."""

from __future__ import annotations

import numpy as np
import pytest

from ferry.drift.methods.mean_shift import mean_shift
from ferry.drift.profile import NumericProfile


def _profile(values: np.ndarray) -> NumericProfile:
    ordered = np.sort(values)
    return NumericProfile.from_sorted(ordered, ordered.size, psi_bins=10)


def test_shift_in_reference_standard_deviations() -> None:
    reference = np.array([0.0, 2.0, 4.0, 6.0])  # mean 3, population std sqrt(5)
    outcome = mean_shift(_profile(reference), np.array([5.0, 7.0]))
    assert outcome.statistic == pytest.approx(3.0 / np.sqrt(5.0))
    assert outcome.details == {"reference_mean": 3.0, "current_mean": 6.0, "std": np.sqrt(5.0)}


def test_constant_reference_cannot_scale_a_shift() -> None:
    outcome = mean_shift(_profile(np.full(5, 1.0)), np.array([1.0, 9.0]))
    assert outcome.statistic is None
    assert outcome.note is not None and "constant" in outcome.note
