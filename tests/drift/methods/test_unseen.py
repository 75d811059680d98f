"""Unseen categories and values outside the reference range."""

from __future__ import annotations

import numpy as np

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.unseen import out_of_range, unseen_categories
from ferry.drift.profile import NumericProfile


def test_unseen_share_and_examples_most_frequent_first() -> None:
    aligned = AlignedCounts.align(
        ("a", "b"), np.array([5, 5], dtype=np.int64), {"a": 60, "x": 10, "y": 30}
    )
    outcome = unseen_categories(aligned)
    assert outcome.statistic == 0.4
    assert outcome.details == {"categories": 2, "examples": ["y", "x"]}


def test_nothing_unseen() -> None:
    aligned = AlignedCounts.align(("a",), np.array([5], dtype=np.int64), {"a": 3})
    assert unseen_categories(aligned).statistic == 0.0


def test_out_of_range_counts_both_tails() -> None:
    profile = NumericProfile.from_sorted(np.array([1.0, 2.0, 3.0]), 3, psi_bins=10)
    outcome = out_of_range(profile, np.array([0.0, 1.0, 3.0, 3.5, 4.0]))
    assert outcome.statistic == 0.6
    assert (outcome.details["below"], outcome.details["above"]) == (1, 2)
