"""Scoring and drift on Spark: ferry.spark against what a user would otherwise run.

Run: ``.venv/bin/python benchmarks/spark.py [--rows 10000000] [--master local[2]]``.
Data: ``--rows`` rows x 25 numeric columns written to Parquet first (not timed), read back by
every contender. Scoring: the same RandomForest (50 trees, depth 8, trained on 20,000 rows)
through ``ferry.spark.predict`` (ONNX, broadcast) and ``mlflow.pyfunc.spark_udf`` (the saved
model in a pandas UDF, ``env_manager="local"``); rows per second of the job, forced with Spark's
``noop`` writer (preparing the model, once per job, is not timed). Drift: ``fit_spark`` + ``check_spark`` on a reference and a shifted current data set of
``--rows`` rows each, against the in-memory ``DriftDetector`` on the same data read with pandas,
and Evidently's DataDriftPreset when ``evidently`` is installed (skipped past ``--evidently-max``
rows, where it runs out of memory: evidently #1526).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

COLUMNS = 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--evidently-max", type=int, default=1_000_000)
    args = parser.parse_args()

    from ferry.spark.compat import quiet_pandas_warnings
    from ferry.spark.session import spark_session

    with quiet_pandas_warnings(), tempfile.TemporaryDirectory() as folder:
        spark = spark_session(args.master, "ferry-benchmark")
        root = Path(folder)
        reference = write_data(spark, root / "reference", args.rows, shift=0.0, seed=1)
        current = write_data(spark, root / "current", args.rows, shift=0.3, seed=2)
        rows: list[tuple[str, str, str]] = []
        rows += scoring(spark, root, reference, args.rows)
        rows += drift(spark, reference, current, args.rows, args.evidently_max)
        spark.stop()
    table = Table(title=f"Spark, {args.rows:,} rows x {COLUMNS} columns, {args.master}")
    for name in ("task", "contender", "result"):
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def write_data(spark: Any, path: Path, rows: int, *, shift: float, seed: int) -> str:
    """``rows`` x 25 columns of normals (column i has mean i/10, plus ``shift`` on x0..x4)."""
    from pyspark.sql import functions

    columns = [
        (functions.randn(seed * 100 + index) + index / 10 + (shift if index < 5 else 0.0)).alias(
            f"x{index}"
        )
        for index in range(COLUMNS)
    ]
    spark.range(rows).select("id", *columns).write.parquet(str(path))
    return str(path)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def scoring(spark: Any, root: Path, source: str, rows: int) -> list[tuple[str, str, str]]:
    from sklearn.ensemble import RandomForestClassifier

    import ferry.spark
    from ferry import Registry

    sample = spark.read.parquet(source).limit(20_000).toPandas()
    features = sample.drop(columns=["id"])
    labels = (features["x0"] + features["x1"] * features["x2"] > 0.3).astype(int)
    forest = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0)
    forest.fit(features, labels)
    df = spark.read.parquet(source)
    results = []
    with Registry(home=root / "home") as registry:
        registry.register(forest, "bench", input_example=features.head(20))
        scored = ferry.spark.predict(df, "bench", registry=registry)  # resolve + compile
        seconds, _ = timed(lambda: scored.write.format("noop").mode("overwrite").save())
    results.append(("scoring", "ferry.spark.predict (ONNX)", f"{rows / seconds:,.0f} rows/s"))
    baseline = mlflow_scoring(spark, root, forest, df, features, rows)
    results.append(("scoring", "mlflow.pyfunc.spark_udf", baseline))
    return results


def mlflow_scoring(
    spark: Any, root: Path, forest: Any, df: Any, features: pd.DataFrame, rows: int
) -> str:
    try:
        import mlflow.pyfunc
        import mlflow.sklearn
    except ImportError as error:
        return f"not run: {error}"
    from pyspark.sql import functions

    path = root / "mlflow-model"
    mlflow.sklearn.save_model(  # our own forest, so its tree type is trusted
        forest, str(path), input_example=features.head(5),
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )  # fmt: skip
    udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")
    scored = df.withColumn("p", udf(functions.struct(*features.columns)))
    seconds, _ = timed(lambda: scored.write.format("noop").mode("overwrite").save())
    return f"{rows / seconds:,.0f} rows/s"


def drift(
    spark: Any, reference: str, current: str, rows: int, evidently_max: int
) -> list[tuple[str, str, str]]:
    from ferry.drift import DriftDetector
    from ferry.spark.drift import check_spark, fit_spark

    def on_spark() -> Any:
        detector = fit_spark(DriftDetector(ignore=["id"]), spark.read.parquet(reference))
        return check_spark(detector, spark.read.parquet(current))

    seconds, report = timed(on_spark)
    found = ", ".join(f.name for f in report.drifted_features)
    results = [("drift", "ferry.spark fit_spark + check_spark", f"{seconds:.1f} s ({found})")]
    read_seconds, frames = timed(
        lambda: (pd.read_parquet(reference).drop(columns=["id"]),
                 pd.read_parquet(current).drop(columns=["id"]))
    )  # fmt: skip
    seconds, report = timed(lambda: DriftDetector().fit(frames[0]).check(frames[1]))
    found = ", ".join(f.name for f in report.drifted_features)
    results.append(
        (
            "drift",
            "in-memory DriftDetector",
            f"{seconds:.1f} s + {read_seconds:.1f} s read ({found})",
        )
    )
    results.append(("drift", "Evidently DataDriftPreset", evidently(frames, rows, evidently_max)))
    return results


def evidently(frames: tuple[pd.DataFrame, pd.DataFrame], rows: int, limit: int) -> str:
    try:
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report
    except ImportError:
        return "not run: evidently is not installed"
    if rows > limit:
        return f"not run above {limit:,} rows (out of memory: evidently #1526)"
    report = Report(metrics=[DataDriftPreset()])
    seconds, _ = timed(lambda: report.run(reference_data=frames[0], current_data=frames[1]))
    return f"{seconds:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
