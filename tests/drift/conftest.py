"""Seeded data for the drift suite: 25 columns (20 numeric, 5 categorical), 6 injected drifts.

The drifts are the ones the issue names: a mean shift of 0.5 standard deviations, a variance
doubled, a mixture with the same mean and variance as the reference, Poisson 5 -> 6, and a strong
and a mild categorical frequency shift. Every other column is drawn from the same distribution
on both sides, so any flag on them is a false alarm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

LEVELS = np.array(["north", "south", "east", "west"])
BASE = [0.4, 0.3, 0.2, 0.1]
STRONG = [0.2, 0.2, 0.3, 0.3]
MILD = [0.37, 0.30, 0.21, 0.12]


def make_frame(rows: int, seed: int, *, drift: bool) -> pd.DataFrame:
    """Reference (``drift=False``) or current data with the six drifts injected."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    columns["shift"] = rng.normal(0.5 if drift else 0.0, 1.0, rows)
    columns["variance"] = rng.normal(0.0, np.sqrt(2.0) if drift else 1.0, rows)
    if drift:  # two bumps with mean 0 and variance 1, like the reference's normal
        side = rng.random(rows) < 0.5
        columns["mixture"] = np.where(side, -0.8, 0.8) + rng.normal(0.0, 0.6, rows)
    else:
        columns["mixture"] = rng.normal(0.0, 1.0, rows)
    columns["poisson"] = rng.poisson(6.0 if drift else 5.0, rows)
    for index in range(16):
        columns[f"x{index}"] = rng.normal(index, 1.0 + index / 10, rows)
    columns["strong"] = _categories(rng, rows, STRONG if drift else BASE)
    columns["mild"] = _categories(rng, rows, MILD if drift else BASE)
    for index in range(3):
        columns[f"c{index}"] = _categories(rng, rows, BASE)
    return pd.DataFrame(columns)


def _categories(rng: np.random.Generator, rows: int, shares: list[float]) -> pd.Categorical:
    """A pandas categorical (built from codes: a million strings would take seconds)."""
    return pd.Categorical.from_codes(rng.choice(len(LEVELS), rows, p=shares), LEVELS)


@pytest.fixture(scope="session")
def frames_10k() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and drifted current data, 10,000 rows each."""
    return make_frame(10_000, 1, drift=False), make_frame(10_000, 2, drift=True)


@pytest.fixture(scope="session")
def drift_frame() -> object:
    """The :func:`make_frame` factory, for tests that need other sizes or seeds."""
    return make_frame
