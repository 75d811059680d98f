"""What a monitor check keeps per feature: reference and current shares over the same bins,
numeric by the reference's edges, categorical by the largest categories and one "other"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector
from ferry.drift.distribution import OTHER, TOP_CATEGORIES, Distribution, distributions
from ferry.errors import InvalidInput


@pytest.fixture(scope="module")
def kept() -> dict[str, Distribution]:
    rng = np.random.default_rng(0)
    cities = [f"city{i:02d}" for i in range(30)]
    reference = pd.DataFrame({"amount": rng.normal(0, 1, 2000),
                              "city": rng.choice(cities, 2000, p=_skewed(30))})  # fmt: skip
    current = pd.DataFrame({"amount": rng.normal(1.5, 1, 500),
                            "city": rng.choice(cities, 500, p=_skewed(30)[::-1])})  # fmt: skip
    report = DriftDetector(categorical=["city"]).fit(reference).check(current)
    return {plot.name: plot for plot in distributions(report)}


def _skewed(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def test_numeric_keeps_the_reference_edges_and_both_sides_shares(kept):
    amount = kept["amount"]
    assert amount.type == "numeric" and amount.drifted and amount.edges is not None
    assert len(amount.edges) == 21 and len(amount.reference) == len(amount.current) == 22
    assert sum(amount.reference) == pytest.approx(1, abs=1e-3)
    assert sum(amount.current) == pytest.approx(1, abs=1e-3)
    # the shift to +1.5 sd moves current mass into the upper bins
    assert sum(amount.current[11:]) > sum(amount.reference[11:]) + 0.3
    assert amount.labels[0].startswith("<= ") and amount.labels[-1].startswith("> ")


def test_categorical_keeps_the_top_categories_and_folds_the_rest(kept):
    city = kept["city"]
    assert city.type == "categorical" and city.edges is None
    assert len(city.labels) == TOP_CATEGORIES + 1 and city.labels[-1] == OTHER
    assert "city00" in city.labels and "city29" in city.labels  # largest on either side
    assert sum(city.reference) == pytest.approx(1, abs=1e-3)
    assert sum(city.current) == pytest.approx(1, abs=1e-3)


def test_the_stored_form_is_compact_and_reads_back(kept):
    for plot in kept.values():
        stored = plot.to_dict()
        assert Distribution.from_dict(stored) == plot
    assert "labels" not in kept["amount"].to_dict()  # rebuilt from the edges
    with pytest.raises(InvalidInput, match="reference"):
        Distribution.from_dict({"name": "x", "type": "numeric", "drifted": False, "edges": [0]})
    with pytest.raises(InvalidInput, match="differ in length"):
        Distribution.from_dict({"name": "x", "type": "categorical", "drifted": False,
                                "labels": ["a"], "reference": [1.0], "current": []})  # fmt: skip
