"""Sketches merge exactly while small and stay within their error bound once compressed.

No Spark here: partitions are simulated by splitting a pandas frame, which is exactly what the
executors do with their Arrow batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tests.drift.conftest import make_frame

from ferry.drift import DriftDetector
from ferry.drift.columns import plan_columns
from ferry.spark import drift as spark_drift
from ferry.spark.sketches import (
    SAMPLE_POINTS,
    SKETCH_POINTS,
    Sketch,
    categorical_sketch,
    merge,
    numeric_sketch,
    sorted_sample,
)

BOUND = 2 / SKETCH_POINTS + 1 / SAMPLE_POINTS
"""The documented CDF error of one side's sample."""


def partitions(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    return [frame.iloc[index::parts] for index in range(parts)]


def sketched(frame: pd.DataFrame, kinds: dict[str, str], parts: int = 4) -> dict[str, Sketch]:
    """What frames.sketch_frame computes on Spark, computed here partition by partition."""
    result = {}
    for name, kind in kinds.items():
        build = numeric_sketch if kind == "numeric" else categorical_sketch
        result[name] = merge([build(name, part[name]) for part in partitions(frame, parts)])
    return result


def cdf_gap(sample: np.ndarray, exact: np.ndarray) -> float:
    points = np.concatenate((sample, exact))
    mine = np.searchsorted(sample, points, side="right") / sample.size
    truth = np.searchsorted(exact, points, side="right") / exact.size
    return float(np.max(np.abs(mine - truth)))


def test_small_columns_merge_exactly() -> None:
    values = pd.Series([3.0, 1.0, np.nan, 2.0, 1.0, np.inf, 5.0, 2.0])
    merged = merge([numeric_sketch("x", values[:3]), numeric_sketch("x", values[3:])])

    assert merged.exact and merged.rows == 8 and merged.missing == 2
    np.testing.assert_array_equal(sorted_sample(merged), [1.0, 1.0, 2.0, 2.0, 3.0, 5.0])
    assert merged.mean == np.mean([3.0, 1.0, 2.0, 1.0, 5.0, 2.0])
    assert np.isclose(merged.m2 / merged.count, np.var([3.0, 1.0, 2.0, 1.0, 5.0, 2.0]))


def test_a_compressed_column_stays_within_the_bound() -> None:
    rng = np.random.default_rng(7)
    values = pd.Series(rng.lognormal(0.0, 1.0, 200_000))

    merged = merge([numeric_sketch("x", part["x"]) for part in partitions(values.to_frame("x"), 5)])

    assert not merged.exact and merged.values is not None
    assert merged.values.size <= SKETCH_POINTS
    assert merged.count == 200_000 and merged.minimum == values.min()
    assert cdf_gap(sorted_sample(merged), np.sort(values.to_numpy())) <= BOUND


def test_compressed_reports_decide_like_the_in_memory_detector() -> None:
    names = ["shift", "variance", "x1", "strong"]
    reference = make_frame(120_000, 1, drift=False)[names].astype({"strong": str})
    current = make_frame(100_000, 2, drift=True)[names].astype({"strong": str})
    columns = plan_columns(reference, categorical=(), numeric=(), ignore=())
    kinds = {column.name: column.kind for column in columns}

    fitted = spark_drift.learn(DriftDetector(), columns, sketched(reference, kinds))
    report = spark_drift.compare(fitted, sketched(current, kinds, parts=3))

    expected = DriftDetector().fit(reference).check(current)
    assert [f.name for f in report.drifted_features] == [f.name for f in expected.drifted_features]
    by_name = {feature.name: feature for feature in expected.features}
    for feature in report.features:
        truth = by_name[feature.name].stats
        if feature.type == "numeric":
            gap = abs(feature.stats["ks"]["statistic"] - truth["ks"]["statistic"])
            assert gap <= 2 * BOUND, feature.name
        else:
            assert feature.stats["chi2"] == truth["chi2"]


def test_a_sketched_detector_saves_and_loads_its_true_counts(tmp_path: Path) -> None:
    frame = pd.DataFrame({"amount": np.random.default_rng(3).lognormal(0, 1, 60_000)})
    frame.loc[::10, "amount"] = np.nan
    columns = plan_columns(frame, categorical=(), numeric=(), ignore=())
    fitted = spark_drift.learn(DriftDetector(), columns, sketched(frame, {"amount": "numeric"}))

    loaded = DriftDetector.load(fitted.save(tmp_path / "profile.npz"))

    (_, saved), (_, back) = fitted.profiles_[0], loaded.profiles_[0]
    assert back.missing == saved.missing == 6_000
    assert (back.mean, back.std) == (saved.mean, saved.std)
    report = loaded.check(frame)
    assert not report.drift
    assert report.features[0].stats["missing_rate"]["statistic"] == 0.0
