"""The A/B test's statistics, from stored sums, against scipy.stats on the raw rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ferry.serving.abtest import compare, two_proportions, welch
from ferry.serving.outcomes import Moments


def _moments(values) -> Moments:
    moments = Moments()
    moments.observe(np.asarray(values, dtype=float))
    return moments


@pytest.mark.parametrize(("right", "wrong"), [((90, 10), (75, 25)), ((51, 49), (50, 50))])
def test_the_two_proportion_z_test_matches_the_chi_square_test(right, wrong):
    candidate = _moments([1] * right[0] + [0] * right[1])
    primary = _moments([1] * wrong[0] + [0] * wrong[1])
    test = two_proportions(candidate, primary, alpha=0.05)

    table = [list(right), list(wrong)]
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert test.p_value == pytest.approx(p_value, rel=1e-9)
    assert test.statistic**2 == pytest.approx(chi2, rel=1e-9)
    p1, p0 = right[0] / sum(right), wrong[0] / sum(wrong)
    se = np.sqrt(p1 * (1 - p1) / sum(right) + p0 * (1 - p0) / sum(wrong))
    margin = stats.norm.ppf(0.975) * se
    assert test.effect == pytest.approx(p1 - p0)
    assert test.interval == pytest.approx((p1 - p0 - margin, p1 - p0 + margin))


def test_welch_matches_scipy_on_the_rows():
    rng = np.random.default_rng(0)
    candidate_rows, primary_rows = rng.normal(1.0, 2.0, 80), rng.normal(1.8, 0.5, 150)
    test = welch("squared_error", _moments(candidate_rows), _moments(primary_rows), alpha=0.1)

    expected = stats.ttest_ind(candidate_rows, primary_rows, equal_var=False)
    assert test.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert test.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval(0.9)
    assert test.interval == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert test.outcome == "better"  # a lower error, significant at 0.1


def test_outcomes_follow_the_direction_of_the_metric():
    worse = compare("accuracy", _moments([1] * 60 + [0] * 40), _moments([1] * 90 + [0] * 10), 0.05)
    assert worse.outcome == "worse" and worse.effect == pytest.approx(-0.3)
    higher_error = compare("absolute_error", _moments([3.0, 3.1] * 50), _moments([1.0, 1.1] * 50),
                           0.05)  # fmt: skip
    assert higher_error.outcome == "worse"
    same = compare("accuracy", _moments([1, 0] * 50), _moments([1, 0] * 50), 0.05)
    assert (same.outcome, same.p_value) == ("inconclusive", 1.0)
    constant = compare("squared_error", _moments([2.0] * 10), _moments([2.0] * 10), 0.05)
    assert (constant.outcome, constant.p_value) == ("inconclusive", 1.0)
    report = worse.to_dict()
    assert report["samples"] == {"primary": 100, "candidate": 100}
    assert report["confidence"] == 0.95 and report["test"] == "two_proportion_z"
