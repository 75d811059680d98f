"""ferry predict and ferry drift with --engine spark, on folders of Parquet files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from tests.drift.conftest import make_frame
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.spark.compat import quiet_pandas_warnings

pytestmark = pytest.mark.spark


def parquet_folder(spark: Any, frame: pd.DataFrame, folder: Path) -> str:
    """``frame`` as Spark writes it: a folder of part files."""
    with quiet_pandas_warnings():
        spark.createDataFrame(frame).repartition(2).write.parquet(str(folder))
    return str(folder)


def test_predict_with_the_spark_engine_writes_a_parquet_folder(
    spark: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipeline: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "churn", input_example=cancer[0].head(10))
    rows = cancer[0].head(60).assign(customer_id=[f"c{i:02d}" for i in range(60)])
    source = parquet_folder(spark, rows, tmp_path / "customers")
    target = tmp_path / "scored"

    args = ["predict", "churn", "-i", source, "-o", str(target), "--engine", "spark",
            "--master", "local[2]", "--keep", "customer_id"]  # fmt: skip
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "wrote 60 predictions" in result.stdout
    scored = pd.read_parquet(target).sort_values("customer_id")
    assert list(scored.columns) == ["customer_id", "prediction", "probabilities", "ferry_version"]
    assert scored["prediction"].tolist() == pipeline.predict(cancer[0].head(60)).tolist()

    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0
    assert "already exists" in again.stderr


def test_drift_with_the_spark_engine_reports_like_pandas(spark: Any, tmp_path: Path) -> None:
    reference = make_frame(2_000, 1, drift=False).astype({"strong": str, "mild": str})
    current = make_frame(1_500, 2, drift=True).astype({"strong": str, "mild": str})
    reference, current = (
        reference.drop(columns=["c0", "c1", "c2"]),
        current.drop(columns=["c0", "c1", "c2"]),
    )
    reference.to_parquet(tmp_path / "reference.parquet")
    current.to_parquet(tmp_path / "current.parquet")
    current_folder = parquet_folder(spark, current, tmp_path / "current")

    on_spark = CliRunner().invoke(app, [
        "drift", "--reference", str(tmp_path / "reference.parquet"), "--current", current_folder,
        "--engine", "spark", "--json", "-",
    ])  # fmt: skip
    in_memory = CliRunner().invoke(app, [
        "drift", "--reference", str(tmp_path / "reference.parquet"),
        "--current", str(tmp_path / "current.parquet"), "--json", "-",
    ])  # fmt: skip

    assert on_spark.exit_code == 0, (on_spark.stdout, on_spark.stderr)
    mine, theirs = json.loads(on_spark.stdout), json.loads(in_memory.stdout)
    assert mine["drift"] == theirs["drift"]
    drifted = [f["name"] for f in mine["features"] if f["drifted"]]
    assert drifted == [f["name"] for f in theirs["features"] if f["drifted"]]
    assert {"shift", "variance", "strong"} <= set(drifted)
    statistics = np.array([f["statistic"] or 0.0 for f in mine["features"]])
    expected = np.array([f["statistic"] or 0.0 for f in theirs["features"]])
    np.testing.assert_allclose(statistics, expected, atol=1e-3)


def test_a_url_no_filesystem_reads_is_named(spark: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "drift", "--reference", "nosuch://lake/reference/", "--current", "nosuch://lake/now/",
        "--engine", "spark",
    ])  # fmt: skip

    assert result.exit_code == 2, result.stderr
    assert "nosuch://lake/reference/: neither Spark's Hadoop connectors nor fsspec read" in (
        result.stderr
    )
    assert "at org.apache" not in result.stderr


def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "drift", "--reference", "a.csv", "--current", "b.csv", "--engine", "dask",
    ])  # fmt: skip

    assert result.exit_code == 2
    assert "--engine 'dask'" in result.stderr
