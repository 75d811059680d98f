"""ferry predict and ferry drift with --engine spark on s3:// URLs (a real s3rver on 127.0.0.1).

No Hadoop S3 connector is on the classpath here, so these URLs are read and written through
fsspec on the executors; each run is compared with the same run on local paths.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from tests.drift.conftest import make_frame
from tests.s3server import S3Server
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.config import storage_options
from ferry.spark.compat import quiet_pandas_warnings

pytestmark = pytest.mark.spark


@pytest.fixture
def lake(s3: S3Server) -> tuple[Any, str]:
    """s3fs on the test server (ferry's own settings) and a fresh prefix in its bucket."""
    import fsspec

    fs = fsspec.filesystem("s3", **storage_options(os.environ))
    return fs, f"{s3.bucket}/{uuid.uuid4().hex}"


def _spark_folder(spark: Any, frame: pd.DataFrame, folder: Path) -> Path:
    """``frame`` as Spark writes it: two part files, ``_SUCCESS`` and ``.crc`` files."""
    with quiet_pandas_warnings():
        spark.createDataFrame(frame).repartition(2).write.parquet(str(folder))
    return folder


def _ferry(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_predict_from_an_s3_folder_to_s3_answers_like_local_paths(
    spark: Any,
    lake: tuple[Any, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipeline: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    fs, prefix = lake
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "churn", input_example=cancer[0].head(10))
    rows = cancer[0].head(80).assign(customer_id=[f"c{i:02d}" for i in range(80)])
    folder = _spark_folder(spark, rows, tmp_path / "customers")
    fs.put(str(folder), f"{prefix}/customers", recursive=True)
    uploaded = {Path(path).name for path in fs.find(prefix)}
    assert "_SUCCESS" in uploaded and any(name.endswith(".crc") for name in uploaded)
    spark_run = ["predict", "churn", "--engine", "spark", "--master", "local[2]"]

    local = _ferry(*spark_run, "-i", str(folder), "-o", str(tmp_path / "scored"))
    remote = _ferry(*spark_run, "-i", f"s3://{prefix}/customers/", "-o", f"s3://{prefix}/scored")

    assert local.exit_code == 0, (local.stdout, local.stderr)
    assert remote.exit_code == 0, (remote.stdout, remote.stderr)
    assert f"wrote 80 predictions to s3://{prefix}/scored" in remote.stdout
    written = sorted(Path(path).name for path in fs.ls(f"{prefix}/scored"))
    assert written == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    fs.get(f"{prefix}/scored", str(tmp_path / "fetched"), recursive=True)
    mine = pd.read_parquet(tmp_path / "fetched").sort_values("customer_id", ignore_index=True)
    theirs = pd.read_parquet(tmp_path / "scored").sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(mine, theirs)
    assert mine["prediction"].tolist() == pipeline.predict(cancer[0].head(80)).tolist()

    again = _ferry(*spark_run, "-i", f"s3://{prefix}/customers", "-o", f"s3://{prefix}/scored")
    assert again.exit_code == 1
    assert f"s3://{prefix}/scored already exists" in again.stderr
    fs.put(str(folder), f"{prefix}/broken", recursive=True)  # then a file without customer_id
    cancer[0].head(5).to_parquet(tmp_path / "late.parquet")
    fs.put(str(tmp_path / "late.parquet"), f"{prefix}/broken/zz-late.parquet")
    broken = _ferry(*spark_run, "-i", f"s3://{prefix}/broken", "-o", f"s3://{prefix}/half")
    assert broken.exit_code == 1
    assert f"s3://{prefix}/broken/zz-late.parquet has no column 'customer_id'" in broken.stderr
    assert "at org.apache" not in broken.stderr
    fs.invalidate_cache()
    print("LEFT", fs.find(f"{prefix}/half", withdirs=True))
    assert not fs.exists(f"{prefix}/half")  # what the failed job wrote is removed
    nowhere = _ferry(*spark_run, "-i", f"s3://{prefix}/customers", "-o", "s3://no-bucket/scored")
    assert nowhere.exit_code == 1
    assert "cannot write s3://no-bucket/scored: there is no bucket 'no-bucket'" in nowhere.stderr


def test_drift_on_s3_urls_reports_like_local_paths(
    spark: Any, lake: tuple[Any, str], tmp_path: Path
) -> None:
    fs, prefix = lake
    reference = make_frame(2_000, 1, drift=False).astype({"strong": str, "mild": str})
    current = make_frame(1_500, 2, drift=True).astype({"strong": str, "mild": str})
    reference.to_parquet(tmp_path / "reference.parquet")
    current_folder = _spark_folder(spark, current, tmp_path / "current")
    fs.put(str(tmp_path / "reference.parquet"), f"{prefix}/reference.parquet")
    fs.put(str(current_folder), f"{prefix}/current", recursive=True)

    def report(reference: str, current: str) -> dict[str, Any]:
        result = _ferry("drift", "--reference", reference, "--current", current,
                        "--engine", "spark", "--master", "local[2]", "--json", "-")  # fmt: skip
        assert result.exit_code == 0, (result.stdout, result.stderr)
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    mine = report(f"s3://{prefix}/reference.parquet", f"s3://{prefix}/current")
    theirs = report(str(tmp_path / "reference.parquet"), str(current_folder))

    assert mine["drift"] == theirs["drift"] is True
    assert [f["name"] for f in mine["features"]] == [f["name"] for f in theirs["features"]]
    assert [f["drifted"] for f in mine["features"]] == [f["drifted"] for f in theirs["features"]]
    statistics = np.array([f["statistic"] or 0.0 for f in mine["features"]])
    expected = np.array([f["statistic"] or 0.0 for f in theirs["features"]])
    np.testing.assert_allclose(statistics, expected, atol=1e-9)


def test_an_empty_prefix_and_a_missing_bucket_are_named(spark: Any, lake: tuple[Any, str]) -> None:
    fs, prefix = lake
    fs.pipe_file(f"{prefix}/empty/_SUCCESS", b"")

    empty = _ferry("drift", "--reference", f"s3://{prefix}/empty/", "--current",
                   f"s3://{prefix}/empty/", "--engine", "spark")  # fmt: skip
    nowhere = _ferry("drift", "--reference", "s3://no-bucket/reference/", "--current",
                     f"s3://{prefix}/empty/", "--engine", "spark")  # fmt: skip

    assert empty.exit_code == 2
    assert f"s3://{prefix}/empty/ holds no Parquet files" in empty.stderr
    assert nowhere.exit_code == 2
    assert "cannot read s3://no-bucket/reference/: FileNotFoundError" in nowhere.stderr
    assert "at org.apache" not in empty.stderr + nowhere.stderr


def test_one_big_file_is_read_by_every_core(spark: Any, lake: tuple[Any, str]) -> None:
    from ferry.spark.jobs import read_frame

    fs, prefix = lake
    rows = pd.DataFrame({"id": np.arange(1_000), "x": np.linspace(0.0, 1.0, 1_000)})
    with fs.open(f"{prefix}/big.parquet", "wb") as handle:
        rows.to_parquet(handle, row_group_size=300)  # four row groups

    df = read_frame(spark, f"s3://{prefix}/big.parquet", storage_options(os.environ))

    assert df.rdd.getNumPartitions() == 2  # local[2]: the row groups split in two
    with quiet_pandas_warnings():
        read = df.toPandas()
    pd.testing.assert_frame_equal(read, rows)
