"""Reference profiles: narrow columns sorted in their own type give the float64 answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector
from ferry.drift.profile import NARROW_SORTED, sorted_column, sorted_finite


def _column(dtype: str, rng: np.random.Generator, size: int) -> np.ndarray:
    if dtype.startswith("float"):
        values = rng.normal(0.0, 3.0, size).astype(dtype)
        values[::97] = np.nan  # missing and infinite values are left out the same way
        values[::101] = np.inf
        values[::103] = -np.inf
        values[::7] = -0.0  # ties, and signed zeros beside zeros
        values[1::7] = 0.0
        return values
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("dtype", sorted(str(dtype) for dtype in NARROW_SORTED))
def test_narrow_columns_sort_like_their_float64_values(dtype: str) -> None:
    rng = np.random.default_rng(11)
    for size in (1, 2, 50, 30_000):
        series = pd.Series(_column(dtype, rng, size))
        expected = sorted_finite(series.to_numpy(dtype=np.float64))
        assert np.array_equal(sorted_column(series, "x"), expected)


def test_a_float32_frame_gets_the_report_of_its_float64_copy() -> None:
    rng = np.random.default_rng(12)
    reference = pd.DataFrame(
        {"a": _column("float32", rng, 40_000), "b": _column("int16", rng, 40_000)}
    )
    current = pd.DataFrame(
        {"a": _column("float32", rng, 30_000) + 0.1, "b": _column("int16", rng, 30_000)}
    )
    narrow = DriftDetector().fit(reference).check(current).to_dict()
    wide = (
        DriftDetector().fit(reference.astype("float64")).check(current.astype("float64")).to_dict()
    )
    assert narrow == wide
