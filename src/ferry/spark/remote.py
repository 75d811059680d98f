"""Parquet at fsspec URLs (``s3://`` through s3fs, ...), read and written on Spark's executors.

Spark reads through Hadoop filesystems, and the connector a URL needs (``hadoop-aws`` for
``s3a://``) is often not on the classpath, while ferry's object store already speaks fsspec with
its own settings (``FERRY_S3_*``, ``FERRY_STORAGE_OPTIONS``). So for a URL Hadoop cannot read,
the driver lists the Parquet files with fsspec and reads the schema from one file's footer; a
small DataFrame of file paths, one slice per task, then has each executor stream its files
through pyarrow (``mapInArrow``). Writing is the mirror image: each partition streams its Arrow
batches into ``part-NNNNN.parquet`` under the target, and the driver writes ``_SUCCESS`` last.
The storage options (endpoint, credentials) travel to the executors inside the task, never in a
message or a log line.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ferry.errors import InvalidInput
from ferry.spark.compat import quiet_pandas_warnings

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem
    from pyspark.sql import DataFrame, SparkSession

BATCH_ROWS = 65_536
"""Rows per Arrow batch read from a file: Spark's own Arrow batch size is 10,000; larger batches
cost little memory per task and fewer Python calls."""

TASKS_PER_CORE = 4
"""At most this many read tasks per core: one file per task up to there, several beyond, so a
folder of thousands of small files does not become thousands of tasks."""


@dataclass(frozen=True)
class Location:
    """An fsspec URL and the options that open it (the same ones ferry's object store uses)."""

    url: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def open(self) -> tuple[AbstractFileSystem, str]:
        """The filesystem and the path inside it; an unknown scheme is an error naming it."""
        import fsspec

        scheme = self.url.split("://", 1)[0]
        try:
            fs, path = fsspec.core.url_to_fs(self.url, **dict(self.options))
        except ImportError as error:
            raise InvalidInput(
                f"{self.url}: fsspec reads {scheme}:// URLs with a package that is not "
                f"installed ({error}); install it on the driver and the executors"
            ) from None
        except ValueError as error:
            raise InvalidInput(
                f"{self.url}: neither Spark's Hadoop connectors nor fsspec read {scheme}:// "
                f"URLs ({error})"
            ) from None
        # fsspec shares one instance per set of options and caches its listings: what another
        # process (an executor, a second job) wrote since must be seen.
        fs.invalidate_cache()
        return fs, str(path).rstrip("/")


def read_parquet(spark: SparkSession, where: Location) -> DataFrame:
    """A DataFrame over the Parquet file or folder at ``where``, read on the executors."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if where.url.lower().endswith((".csv", ".tsv")):
        raise InvalidInput(
            f"{where.url}: --engine spark reads fsspec URLs as Parquet only; convert the file to "
            "Parquet, or give a path or URL Spark's own readers reach"
        )
    fs, root = where.open()
    with _driver_errors(f"cannot read {where.url}"):
        files = parquet_files(fs, root)
        if not files:
            raise InvalidInput(
                f"{where.url} holds no Parquet files: give a Parquet file or a folder (prefix) "
                "of them"
            )
        schema = _spark_ready(_footer_schema(fs, files[0]), files[0])
    try:
        spark_schema = from_arrow_schema(schema)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{where.url}: Spark cannot hold this data: {error}") from None
    arrow_schema = _arrow_for(spark_schema)
    reader = _FileReader(where, arrow_schema)
    cores = spark.sparkContext.defaultParallelism
    with _driver_errors(f"cannot read {where.url}"):
        slices = read_slices(fs, files, cores)
    tasks = min(len(slices), TASKS_PER_CORE * cores)
    rows = spark.sparkContext.parallelize(slices, tasks)
    with quiet_pandas_warnings():
        listed = spark.createDataFrame(rows, "path string, row_groups array<int>")
        return listed.mapInArrow(reader, spark_schema)


def read_slices(
    fs: AbstractFileSystem, files: list[str], cores: int
) -> list[tuple[str, list[int] | None]]:
    """What each read task takes: a whole file (``None``), or, when there are fewer files than
    cores, a share of one file's row groups, so that one big file still keeps every core busy
    (the footers are read only then, a few requests)."""
    if len(files) >= cores:
        return [(path, None) for path in files]
    import pyarrow.parquet as pq

    shares = -(-cores // len(files))
    slices: list[tuple[str, list[int] | None]] = []
    for path in files:
        with fs.open(path, "rb") as handle:
            groups = pq.ParquetFile(handle).metadata.num_row_groups
        parts = min(shares, max(groups, 1))
        if parts == 1:
            slices.append((path, None))
            continue
        bounds = [groups * part // parts for part in range(parts + 1)]
        slices.extend((path, list(range(a, b))) for a, b in itertools.pairwise(bounds))
    return slices


def parquet_files(fs: AbstractFileSystem, root: str) -> list[str]:
    """The data files at ``root``: the file itself, or every file under it that Spark would
    read (names starting with ``_`` or ``.``, such as ``_SUCCESS`` and ``.crc`` files, skipped)."""
    if fs.isfile(root):
        return [root]
    found = []
    for path in sorted(fs.find(root)):
        below = path[len(root) :].strip("/").split("/")
        if not any(part.startswith(("_", ".")) for part in below):
            found.append(path)
    return found


def _footer_schema(fs: AbstractFileSystem, path: str) -> pa.Schema:
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle:
        return pq.read_schema(handle)


def _spark_ready(schema: pa.Schema, path: str) -> pa.Schema:
    """``schema`` with the Arrow types Spark has no twin for mapped as Spark's reader maps them
    (dictionary-encoded columns to their values, unsigned integers widened, large types)."""
    import pyarrow as pa

    widened = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(),
               pa.uint64(): pa.decimal128(20, 0), pa.large_string(): pa.string(),
               pa.large_binary(): pa.binary()}  # fmt: skip
    fields = []
    for column in schema:
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        fields.append(column.with_type(widened.get(kind, kind)))
    names = [column.name for column in fields]
    if len(set(names)) != len(names):
        raise InvalidInput(f"{path} has repeated column names: each column needs a unique name")
    return pa.schema(fields)


def _arrow_for(spark_schema: Any) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark_schema, timezone="UTC")


class _FileReader:
    """The executors' side of :func:`read_parquet`: paths in, the files' record batches out."""

    def __init__(self, where: Location, schema: pa.Schema) -> None:
        self.where = where
        self.schema = schema

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        fs, _ = self.where.open()
        for batch in batches:
            paths = batch.column(0).to_pylist()
            for path, groups in zip(paths, batch.column(1).to_pylist(), strict=True):
                yield from self._file(fs, str(path), groups)

    def _file(
        self, fs: AbstractFileSystem, path: str, groups: list[int] | None
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        names = self.schema.names
        try:
            with fs.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                missing = [name for name in names if name not in parquet.schema_arrow.names]
                if missing:
                    raise InvalidInput(
                        f"{fs.unstrip_protocol(path)} has no column {missing[0]!r}, which the "
                        "first file has: every file under a URL needs the same columns"
                    )
                for batch in parquet.iter_batches(BATCH_ROWS, groups, names):
                    table = pa.Table.from_batches([batch]).select(names).cast(self.schema)
                    yield from table.to_batches()
        except InvalidInput:
            raise
        except Exception as error:
            raise InvalidInput(
                f"cannot read {fs.unstrip_protocol(path)}: {type(error).__name__}: {error}"
            ) from None


def write_parquet(df: DataFrame, where: Location) -> int:
    """Write ``df`` as ``part-NNNNN.parquet`` files under a new ``where``; the rows written.

    An existing target is refused, as for local paths; a job that fails removes what it wrote.
    """
    if where.url.lower().endswith((".csv", ".tsv")):
        raise InvalidInput(
            f"{where.url}: --engine spark writes fsspec URLs as a folder of Parquet files only; "
            "give a URL without .csv"
        )
    fs, root = where.open()
    refuse_existing(where)
    writer = _PartWriter(where, root, _arrow_for(df.schema))
    context = df.sparkSession.sparkContext
    group = f"ferry-write-{uuid.uuid4().hex}"
    earlier = context.getLocalProperty("spark.jobGroup.id")
    context.setJobGroup(group, f"ferry writes {where.url}", interruptOnCancel=True)
    try:
        with executor_errors(), quiet_pandas_warnings():
            written = df.mapInArrow(writer, "rows long").collect()
        fs.pipe_file(f"{root}/_SUCCESS", b"")
    except BaseException:
        context.cancelJobGroup(group)
        _settle(context, group)
        _remove(fs, root)
        raise
    finally:
        context.setLocalProperty("spark.jobGroup.id", earlier)  # type: ignore[arg-type]
    return sum(int(row["rows"]) for row in written)


def _settle(context: Any, group: str, timeout: float = 60.0) -> None:
    """Wait until no task of ``group``'s jobs runs: a task still writing when the job failed
    would otherwise put its part file back after the clean-up."""
    tracker = context.statusTracker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [tracker.getJobInfo(job) for job in tracker.getJobIdsForGroup(group)]
        stages = [tracker.getStageInfo(stage) for job in jobs if job for stage in job.stageIds]
        if all(stage is None or stage.numActiveTasks == 0 for stage in stages):
            return
        time.sleep(0.1)


def refuse_existing(where: Location) -> None:
    """Fail before any work when something is already stored at ``where``."""
    fs, root = where.open()
    with _driver_errors(f"cannot write {where.url}"):
        exists = fs.exists(root)
        # Object stores (no root marker) have no folders to create, but their bucket must exist.
        bucket = root.split("/", 1)[0]
        if not exists and fs.root_marker == "" and not fs.exists(bucket):
            raise InvalidInput(f"cannot write {where.url}: there is no bucket {bucket!r}")
    if exists:
        raise InvalidInput(
            f"{where.url} already exists: ferry does not overwrite it; choose a new --output"
        )


def _remove(fs: AbstractFileSystem, root: str) -> None:
    fs.invalidate_cache()  # the executors wrote since the driver last listed
    with suppress(FileNotFoundError):
        fs.rm(root, recursive=True)


class _PartWriter:
    """The executors' side of :func:`write_parquet`: one partition's batches to one file.

    The file is written on the executor's local disk and uploaded only once the partition's
    last batch is in: a task that fails (or is killed when another one fails) uploads nothing,
    so nothing lands after the driver has cleaned up a failed job.
    """

    def __init__(self, where: Location, root: str, schema: pa.Schema) -> None:
        self.where = where
        self.root = root
        self.schema = schema

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import tempfile

        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        context = TaskContext.get()
        part = context.partitionId() if context is not None else 0
        fs, _ = self.where.open()
        path = f"{self.root}/part-{part:05d}.parquet"
        rows = 0
        with tempfile.TemporaryDirectory(prefix="ferry-part-") as staging:
            local = f"{staging}/part.parquet"
            with pq.ParquetWriter(local, self.schema) as out:
                for batch in batches:
                    out.write_table(pa.Table.from_batches([batch]).cast(self.schema))
                    rows += batch.num_rows
            try:
                fs.put_file(local, path)
            except Exception as error:
                raise InvalidInput(
                    f"cannot write {fs.unstrip_protocol(path)}: {type(error).__name__}: {error}"
                ) from None
        yield pa.RecordBatch.from_pydict({"rows": [rows]}, schema=pa.schema([("rows", pa.int64())]))


@contextmanager
def _driver_errors(doing: str) -> Iterator[None]:
    """A filesystem error on the driver (no such bucket, no route to the endpoint) as one line."""
    try:
        yield
    except InvalidInput:
        raise
    except Exception as error:
        raise InvalidInput(f"{doing}: {type(error).__name__}: {error}") from None


_EXECUTOR_ERROR = re.compile(r"ferry\.errors\.InvalidInput: (.+)")


@contextmanager
def executor_errors() -> Iterator[None]:
    """The error an executor raised, named on its own line rather than inside a Java stack."""
    try:
        yield
    except Exception as error:
        found = _EXECUTOR_ERROR.search(str(error))
        if found is None or isinstance(error, InvalidInput):
            raise
        raise InvalidInput(found.group(1).strip()) from None
