"""Multiple-testing thresholds: Bonferroni, Benjamini-Hochberg, none."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ferry.drift.correction import corrected_thresholds

p_values = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)


def test_bonferroni_divides_by_the_number_of_tests() -> None:
    assert corrected_thresholds([0.1, 0.2, 0.3, 0.4], [0.05, 0.05, 0.05, 0.01], "bonferroni") == [
        0.0125,
        0.0125,
        0.0125,
        0.0025,
    ]


def test_none_keeps_each_level() -> None:
    assert corrected_thresholds([0.5, 0.01], [0.05, 0.1], "none") == [0.05, 0.1]


@settings(max_examples=200, deadline=None)
@given(p_values)
def test_fdr_rejects_what_scipy_benjamini_hochberg_rejects(values: list[float]) -> None:
    thresholds = corrected_thresholds(values, [0.05] * len(values), "fdr")
    ours = np.asarray(values) <= np.asarray(thresholds)
    adjusted = stats.false_discovery_control(values, method="bh")
    assert ours.tolist() == (adjusted <= 0.05).tolist()


def test_fdr_has_more_power_than_bonferroni_when_many_move() -> None:
    values = [0.001, 0.012, 0.018, 0.03, 0.5]
    levels = [0.05] * 5
    fdr = np.asarray(values) <= np.asarray(corrected_thresholds(values, levels, "fdr"))
    bonferroni = np.asarray(values) <= np.asarray(
        corrected_thresholds(values, levels, "bonferroni")
    )
    assert fdr.sum() == 4
    assert bonferroni.sum() == 1
