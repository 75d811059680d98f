"""Jensen-Shannon distance: scipy's value, never NaN, in [0, 1]."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial import distance

from ferry.drift.categories import AlignedCounts
from ferry.drift.methods.jensen_shannon import jensen_shannon

counts = st.lists(st.integers(0, 1000), min_size=1, max_size=12)


def _aligned(reference: list[int], current: list[int]) -> AlignedCounts:
    names = tuple(str(index) for index in range(len(reference)))
    return AlignedCounts(names, np.array(reference), np.array(current), ())


@settings(max_examples=200, deadline=None)
@given(data=st.data(), reference=counts)
def test_equals_scipy(data: st.DataObject, reference: list[int]) -> None:
    current = data.draw(
        st.lists(st.integers(0, 1000), min_size=len(reference), max_size=len(reference))
    )
    assume(sum(reference) > 0 and sum(current) > 0)
    with np.errstate(invalid="ignore"):
        expected = distance.jensenshannon(reference, current, base=2.0)
    outcome = jensen_shannon(_aligned(reference, current))
    assert outcome.statistic is not None and 0.0 <= outcome.statistic <= 1.0
    if math.isfinite(expected):  # scipy can return sqrt(-1e-17) = NaN; ferry returns 0
        assert outcome.statistic == pytest.approx(expected, abs=1e-7)
    else:
        assert outcome.statistic == pytest.approx(0.0, abs=1e-7)


def test_identical_is_zero_and_disjoint_is_one() -> None:
    assert jensen_shannon(_aligned([3, 7, 11], [6, 14, 22])).statistic == 0.0
    assert jensen_shannon(_aligned([5, 0], [0, 5])).statistic == pytest.approx(1.0)
