"""fit_spark/check_spark on local[2] report what the in-memory detector reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


def as_spark(spark: Any, frame: pd.DataFrame) -> Any:
    """``frame`` as a DataFrame of two partitions (local[2]'s default), so sketches merge."""
    with quiet_pandas_warnings():
        return spark.createDataFrame(frame)


def users_data(rows: int, seed: int, *, drift: bool) -> pd.DataFrame:
    """The drift suite's 25 columns as a file would hold them: text categories, gaps, an id."""
    frame = make_frame(rows, seed, drift=drift)
    for name in ("strong", "mild", "c0", "c1", "c2"):
        frame[name] = frame[name].astype(str).astype(object)
    frame.loc[frame.index % 17 == 0, "x3"] = np.nan
    frame.insert(0, "customer_id", [f"c{seed}-{index}" for index in range(rows)])
    return frame


@dataclass(frozen=True)
class Case:
    """One reference and drifted current data set, in pandas and on Spark, fitted once."""

    reference: pd.DataFrame
    current: pd.DataFrame
    current_df: Any
    fitted_on_spark: DriftDetector
    expected: Any


@pytest.fixture(scope="module")
def case(spark: Any) -> Case:
    reference = users_data(2_000, 1, drift=False)
    current = users_data(1_500, 2, drift=True)
    current_df = as_spark(spark, current)
    assert current_df.rdd.getNumPartitions() == 2  # partial sketches meet and merge
    fitted = fit_spark(DriftDetector(), as_spark(spark, reference))
    expected = DriftDetector().fit(reference).check(current)
    return Case(reference, current, current_df, fitted, expected)


def test_spark_drift_matches_the_in_memory_detector(case: Case) -> None:
    report = check_spark(case.fitted_on_spark, case.current_df)

    assert_reports_agree(report, case.expected, tolerance=1e-3)
    assert {f.name for f in report.drifted_features} >= {"shift", "variance", "strong"}
    assert json.loads(report.to_json())["drift"] == case.expected.drift
    skipped = {f.name: f.note for f in report.features}
    assert "identifier" in str(skipped["customer_id"])


def test_a_spark_fitted_detector_checks_pandas_and_the_other_way(case: Case) -> None:
    from_spark = case.fitted_on_spark.check(case.current)
    on_spark = check_spark(DriftDetector().fit(case.reference), case.current_df)

    assert_reports_agree(from_spark, case.expected, tolerance=1e-9)
    assert_reports_agree(on_spark, case.expected, tolerance=1e-9)


def test_a_numeric_column_arriving_as_text_is_named(spark: Any, case: Case) -> None:
    current = case.current.assign(shift=lambda f: f["shift"].astype(str))

    with pytest.raises(InvalidInput, match="'shift' is numeric in the reference"):
        check_spark(case.fitted_on_spark, as_spark(spark, current))


def test_the_in_memory_detector_points_a_spark_dataframe_to_ferry_spark(case: Case) -> None:
    with pytest.raises(InvalidInput, match="is a Spark DataFrame: use ferry.spark"):
        DriftDetector().fit(case.current_df)
    with pytest.raises(InvalidInput, match="current data is a Spark DataFrame"):
        case.fitted_on_spark.check(case.current_df)
