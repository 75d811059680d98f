"""The CLI's Spark jobs: read paths, score or check drift, write results.

Paths go to Spark's own readers, so a path may be a file, a folder of Parquet files (as Spark
and most lakes write them) or any URL Spark's Hadoop filesystems read (``s3a://``, ``gs://``,
``abfss://``, ``hdfs://``). ``.csv`` paths are read as CSV with a header; everything else as
Parquet. A job reuses a running SparkSession and stops only the one it started.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ferry.errors import InvalidInput
from ferry.registry.registry import Registry
from ferry.spark.compat import quiet_pandas_warnings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ferry.drift import DriftDetector, DriftReport


@contextmanager
def session_on(master: str) -> Iterator[SparkSession]:
    """The active session if there is one, else a new one on ``master``, stopped afterwards."""
    from pyspark.sql import SparkSession

    from ferry.spark.session import spark_session

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    with quiet_pandas_warnings():
        started = spark_session(master)
    try:
        yield started
    finally:
        started.stop()


def read_frame(spark: SparkSession, path: str) -> DataFrame:
    """A DataFrame over ``path``: CSV (with a header) for ``.csv``, Parquet otherwise."""
    if _is_local(path) and not Path(path).exists():
        raise InvalidInput(
            f"{path} does not exist: give a file, a folder of Parquet files or a URL"
        )
    with _known_scheme(path):
        if path.endswith(".csv"):
            return spark.read.csv(path, header=True, inferSchema=True)
        return spark.read.parquet(path)


def write_frame(df: DataFrame, path: str) -> None:
    """Write ``df`` to a new folder at ``path`` (Parquet, or CSV for ``.csv``); never overwrite."""
    from pyspark.sql import functions

    refuse_existing(path)
    if path.endswith(".csv"):  # CSV has no arrays: vectors are written as JSON lists
        arrays = {f.name for f in df.schema.fields if f.dataType.typeName() == "array"}
        df = df.select(
            *[
                functions.to_json(c).alias(c) if c in arrays else functions.col(c)
                for c in df.columns
            ]
        )
        with _known_scheme(path):
            df.write.csv(path, header=True, mode="errorifexists")
        return
    with _known_scheme(path):
        df.write.parquet(path, mode="errorifexists")


def refuse_existing(path: str) -> None:
    """Fail before any work when a local ``--output`` exists (Spark refuses remote ones)."""
    if _is_local(path) and Path(path).exists():
        raise InvalidInput(
            f"{path} already exists: ferry does not overwrite it; choose a new --output"
        )


@contextmanager
def _known_scheme(path: str) -> Iterator[None]:
    """Name the URL scheme Spark cannot read, rather than pass on a page of Java stack."""
    try:
        yield
    except Exception as error:
        if "UnsupportedFileSystemException" not in str(error):
            raise
        scheme = path.split("://", 1)[0]
        raise InvalidInput(
            f"{path}: Spark has no filesystem for {scheme}:// URLs; give a URL its Hadoop "
            "connectors read (s3a://, gs://, abfss://, hdfs://), or use --engine pandas, "
            "which reads fsspec URLs"
        ) from None


def _is_local(path: str) -> bool:
    return "://" not in path


def score_path(
    registry: Registry,
    ref: str,
    source: str,
    target: str,
    master: str,
    keep: Sequence[str] | None = None,
) -> int:
    """Score every row under ``source`` with ``ref``, write them to ``target``; rows written."""
    from ferry.spark.scoring import predict

    refuse_existing(target)
    with session_on(master) as spark:
        df = read_frame(spark, source)
        scored = predict(df, ref, registry=registry)
        if keep is not None:
            unknown = [name for name in keep if name not in df.columns]
            if unknown:
                raise InvalidInput(f"--keep {unknown[0]!r}: {source} has no such column")
            added = [name for name in scored.columns if name not in df.columns]
            scored = scored.select(*dict.fromkeys(keep), *added)
        with quiet_pandas_warnings():
            write_frame(scored, target)
            kind = "csv" if target.endswith(".csv") else "parquet"
            written: int = spark.read.format(kind).option("header", True).load(target).count()
    return written


def drift_report(
    detector: DriftDetector, reference: str | None, current: str, master: str
) -> DriftReport:
    """Fit on ``reference`` (unless the detector is fitted already), then check ``current``."""
    from ferry.spark.drift import check_spark, fit_spark

    with session_on(master) as spark:
        if reference is not None:
            fit_spark(detector, read_frame(spark, reference))
        return check_spark(detector, read_frame(spark, current))
