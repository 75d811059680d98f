"""fit_spark/check_spark on local[2] report what the in-memory detector reports."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.drift.conftest import make_frame
from tests.spark.agreement import assert_reports_agree

from ferry.drift import DriftDetector
from ferry.errors import InvalidInput
from ferry.spark.compat import quiet_pandas_warnings
from ferry.spark.drift import check_spark, fit_spark

pytestmark = pytest.mark.spark


def as_spark(spark: Any, frame: pd.DataFrame, partitions: int = 3) -> Any:
    with quiet_pandas_warnings():
        return spark.createDataFrame(frame).repartition(partitions)


def users_data(rows: int, seed: int, *, drift: bool) -> pd.DataFrame:
    """The drift suite's 25 columns as a file would hold them: text categories, gaps, an id."""
    frame = make_frame(rows, seed, drift=drift)
    for name in ("strong", "mild", "c0", "c1", "c2"):
        frame[name] = frame[name].astype(str).astype(object)
    frame.loc[frame.index % 17 == 0, "x3"] = np.nan
    frame.insert(0, "customer_id", [f"c{seed}-{index}" for index in range(rows)])
    return frame


def test_spark_drift_matches_the_in_memory_detector(spark: Any) -> None:
    reference = users_data(4_000, 1, drift=False)
    current = users_data(3_000, 2, drift=True)

    fitted = fit_spark(DriftDetector(), as_spark(spark, reference))
    report = check_spark(fitted, as_spark(spark, current, partitions=2))

    expected = DriftDetector().fit(reference).check(current)
    assert_reports_agree(report, expected, tolerance=1e-3)
    assert {f.name for f in report.drifted_features} >= {"shift", "variance", "strong"}
    assert json.loads(report.to_json())["drift"] == expected.drift
    skipped = {f.name: f.note for f in report.features}
    assert "identifier" in str(skipped["customer_id"])


def test_a_spark_fitted_detector_checks_pandas_and_the_other_way(spark: Any) -> None:
    reference = users_data(1_000, 3, drift=False)
    current = users_data(800, 4, drift=True)

    from_spark = fit_spark(DriftDetector(), as_spark(spark, reference)).check(current)
    on_spark = check_spark(DriftDetector().fit(reference), as_spark(spark, current))

    expected = DriftDetector().fit(reference).check(current)
    assert_reports_agree(from_spark, expected, tolerance=1e-9)
    assert_reports_agree(on_spark, expected, tolerance=1e-9)


def test_a_numeric_column_arriving_as_text_is_named(spark: Any) -> None:
    reference = users_data(300, 5, drift=False)
    current = users_data(300, 6, drift=False).assign(shift=lambda f: f["shift"].astype(str))
    fitted = fit_spark(DriftDetector(), as_spark(spark, reference))

    with pytest.raises(InvalidInput, match="'shift' is numeric in the reference"):
        check_spark(fitted, as_spark(spark, current))
