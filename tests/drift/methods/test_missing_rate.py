"""Missing-rate change with the chi-square p-value of the 2 x 2 table."""

from __future__ import annotations

import pytest
from scipy import stats

from ferry.drift.methods.missing_rate import missing_rate


def test_change_and_p_value() -> None:
    outcome = missing_rate(10, 1000, 300, 1000)
    assert outcome.statistic == pytest.approx(0.29)
    expected = stats.chi2_contingency([[10, 990], [300, 700]]).pvalue
    assert outcome.p_value == expected
    assert outcome.details == {"reference": 0.01, "current": 0.3}


@pytest.mark.parametrize(("before", "after"), [(0, 0), (100, 50)])
def test_no_contrast_gives_p_one(before: int, after: int) -> None:
    """Nothing missing anywhere, or everything missing everywhere: no evidence of change."""
    outcome = missing_rate(before, 100, after, 50)
    assert outcome.p_value == 1.0
    assert outcome.statistic == pytest.approx(after / 50 - before / 100)
