"""Chi-square: equal to scipy.stats.chi2_contingency on the crosstab of the raw data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from ferry.drift.categories import AlignedCounts, count_categories
from ferry.drift.methods.chi2 import chi2
from ferry.drift.profile import CategoricalProfile

labels = st.sampled_from(["a", "b", "c", "d", "e", "f"])


def _aligned(reference: list[str], current: list[str]) -> AlignedCounts:
    counts, _ = count_categories(pd.Series(reference))
    profile = CategoricalProfile.from_counts(counts, len(reference))
    seen, _ = count_categories(pd.Series(current))
    return AlignedCounts.align(profile.categories, profile.counts, seen)


@settings(max_examples=80, deadline=None)
@given(
    reference=st.lists(labels, min_size=1, max_size=200),
    current=st.lists(labels, min_size=1, max_size=200),
)
def test_equals_scipy_on_the_crosstab(reference: list[str], current: list[str]) -> None:
    """Unseen categories included, exactly as a user's pandas.crosstab would have them."""
    table = pd.crosstab(
        np.repeat(["reference", "current"], [len(reference), len(current)]),
        np.array(reference + current),
    )
    assume(table.shape[1] >= 1)
    expected = stats.chi2_contingency(table.to_numpy())
    outcome = chi2(_aligned(reference, current))
    assert outcome.statistic is not None and outcome.p_value is not None
    assert np.isclose(outcome.statistic, expected.statistic, rtol=1e-12, atol=1e-12)
    assert np.isclose(outcome.p_value, expected.pvalue, rtol=1e-12, atol=1e-300)
    assert outcome.details["dof"] == expected.dof


def test_same_frequencies_are_not_significant() -> None:
    outcome = chi2(_aligned(["a"] * 50 + ["b"] * 50, ["a"] * 25 + ["b"] * 25))
    assert outcome.p_value == 1.0


def test_a_single_category_has_no_degrees_of_freedom() -> None:
    outcome = chi2(_aligned(["a"] * 5, ["a"] * 7))
    assert (outcome.statistic, outcome.p_value, outcome.details["dof"]) == (0.0, 1.0, 0)
