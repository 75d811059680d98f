"""Pearson's chi-square without scipy.stats: scipy's chi2_contingency, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from ferry.drift.methods.contingency import chi2_contingency

counts = st.sampled_from([3, 40, 10**3, 10**7]).flatmap(lambda high: st.integers(0, high))
tables = st.integers(1, 8).flatmap(lambda k: arrays(np.int64, (2, k), elements=counts))


@settings(max_examples=300, deadline=None)
@given(table=tables)
def test_equals_scipy(table: np.ndarray) -> None:
    """Yates' correction at one degree of freedom, none at zero, Pearson's statistic above."""
    assume(table.sum() > 0)  # scipy divides by zero (see the test below)
    try:
        stats.chi2_contingency(table)
    except ValueError:
        with pytest.raises(ValueError, match="expected frequencies has a zero element"):
            chi2_contingency(table)
        return
    _assert_equals_scipy(table)


@pytest.mark.parametrize(
    "table", [[[5, 5], [7, 7]], [[3, 3], [3, 3]], [[10, 990], [300, 700]], [[1, 0], [0, 1]]]
)
def test_edge_tables_equal_scipy(table: list[list[int]]) -> None:
    _assert_equals_scipy(np.array(table))


def _assert_equals_scipy(table: np.ndarray) -> None:
    expected = stats.chi2_contingency(table)
    result = chi2_contingency(table)
    assert (result.statistic, result.p_value, result.dof) == (
        expected.statistic,
        expected.pvalue,
        expected.dof,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [([[1, -1], [2, 3]], "nonnegative"), ([[0, 0], [0, 0]], "counts nothing"), ([[]], "size 0")],
)
def test_bad_tables_are_refused(table: list[list[int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chi2_contingency(table)
