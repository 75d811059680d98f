"""Is current data different from the reference? Pure: frames in, reports out.

``DriftDetector().fit(reference).check(current)`` returns a :class:`DriftReport`. A fitted
detector saves to :data:`PROFILE_FILENAME`, the file a registered model version carries so that
``ferry drift --model REF`` can check new data against the version's training data.
"""

from __future__ import annotations

from ferry.drift.detector import DriftDetector
from ferry.drift.performance import PerformanceDrift
from ferry.drift.report import DriftReport, FeatureDrift

PROFILE_FILENAME = "drift_profile.npz"
"""The name under which a model version stores its fitted reference profile."""

__all__ = ["PROFILE_FILENAME", "DriftDetector", "DriftReport", "FeatureDrift", "PerformanceDrift"]
