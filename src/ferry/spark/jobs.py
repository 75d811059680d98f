"""The CLI's Spark jobs: read paths, score or check drift, write results.

Local paths and URLs Spark's Hadoop filesystems read (``s3a://``, ``gs://``, ``abfss://``,
``hdfs://``) go to Spark's own readers: a file or a folder of Parquet files (as Spark and most
lakes write them); ``.csv`` paths are read as CSV with a header, everything else as Parquet.
A URL no Hadoop connector on the classpath reads (``s3://`` without ``hadoop-aws``) is read and
written through fsspec with ferry's storage options instead (:mod:`ferry.spark.remote`).
A job reuses a running SparkSession and stops only the one it started.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import InvalidInput
from ferry.registry.registry import Registry
from ferry.spark.compat import quiet_pandas_warnings
from ferry.spark.remote import Location, executor_errors, read_parquet, write_parquet
from ferry.spark.remote import refuse_existing as refuse_existing_remote

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


def read_frame(
    spark: SparkSession, path: str, storage_options: Mapping[str, Any] | None = None
) -> DataFrame:
    """A DataFrame over ``path``: CSV (with a header) for ``.csv``, Parquet otherwise.

    ``storage_options`` open the URLs read through fsspec (``ferry.config.storage_options``).
    """
    if _is_local(path) and not Path(path).exists():
        raise InvalidInput(
            f"{path} does not exist: give a file, a folder of Parquet files or a URL"
        )
    if not hadoop_reads(spark, path):
        return read_parquet(spark, Location(path, storage_options or {}))
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


def hadoop_reads(spark: SparkSession, path: str) -> bool:
    """Whether Spark's Hadoop filesystems have a connector for ``path`` (local paths: yes).

    Asked of the running JVM, so a cluster with ``hadoop-aws`` (or EMR's ``s3://``) keeps
    Spark's own reader; fsspec serves only the schemes Hadoop lacks.
    """
    if _is_local(path):
        return True
    scheme = path.split("://", 1)[0].lower()
    jvm = spark.sparkContext._jvm
    if jvm is None:  # no JVM to ask (Spark Connect): Spark's reader, as before
        return True
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(
            scheme, spark.sparkContext._jsc.hadoopConfiguration()
        )
    except Exception:  # py4j's error for UnsupportedFileSystemException
        return False
    return True


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
            "connectors read (s3a://, gs://, abfss://, hdfs://) or an fsspec URL (s3://)"
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
    """Score every row under ``source`` with ``ref``, write them to ``target``; rows written.

    fsspec URLs open with the registry's storage options, as its artifact store does.
    """
    from ferry.spark.scoring import predict

    options = registry.settings.storage_options
    refuse_existing(target)
    with session_on(master) as spark, executor_errors():
        remote = None if hadoop_reads(spark, target) else Location(target, options)
        if remote is not None:
            refuse_existing_remote(remote)
        df = read_frame(spark, source, options)
        scored = predict(df, ref, registry=registry)
        if keep is not None:
            unknown = [name for name in keep if name not in df.columns]
            if unknown:
                raise InvalidInput(f"--keep {unknown[0]!r}: {source} has no such column")
            added = [name for name in scored.columns if name not in df.columns]
            scored = scored.select(*dict.fromkeys(keep), *added)
        with quiet_pandas_warnings():
            if remote is not None:
                return write_parquet(scored, remote)
            write_frame(scored, target)
            kind = "csv" if target.endswith(".csv") else "parquet"
            written: int = spark.read.format(kind).option("header", True).load(target).count()
    return written


def drift_report(
    detector: DriftDetector,
    reference: str | None,
    current: str,
    master: str,
    storage_options: Mapping[str, Any] | None = None,
) -> DriftReport:
    """Fit on ``reference`` (unless the detector is fitted already), then check ``current``.

    ``storage_options`` open the fsspec URLs among them (``ferry.config.storage_options``).
    """
    from ferry.spark.drift import check_spark, fit_spark

    with session_on(master) as spark, executor_errors():
        if reference is not None:
            fit_spark(detector, read_frame(spark, reference, storage_options))
        return check_spark(detector, read_frame(spark, current, storage_options))
