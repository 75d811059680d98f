"""Scoring and drift on Spark: ferry.spark against what a user would otherwise run.

Run: ``nice -n 19 .venv/bin/python benchmarks/spark.py [--rows 10000000] [--master local[2]]
[--evidently-python /work/bench-venv-evidently/bin/python]``.

Data: ``--rows`` rows x 25 columns (20 normal numeric, 5 categorical strings) plus an ``id``, for a
reference and a current data set, generated ``--chunk-rows`` at a time into folders of Parquet
files (never one whole frame in memory; not timed). The current data drifts in ``x0`` (mean +0.3
sd), ``x1`` (sd x1.5) and ``c0`` (shares evened out); nothing else.

Scoring: the same RandomForest (50 trees, depth 8, trained on 20,000 rows, 20 numeric inputs)
through ``ferry.spark.predict`` (ONNX, broadcast; every column passes through, label and
probabilities added) and ``mlflow.pyfunc.spark_udf`` (``env_manager="local"``, one double per
row); rows per second of the job, forced with Spark's ``noop`` writer (preparing the model, once
per job, is not timed).

Drift: ``fit_spark`` + ``check_spark`` on the two folders, against the in-memory ``DriftDetector``
and Evidently's ``DataDriftPreset`` on the same data read whole with pandas. Each in-memory
contender runs in its own process (Evidently under ``--evidently-python``, a separate venv: it is
no dependency of ferry), stopped past ``--time-limit`` seconds or ``--memory-limit`` GB of
resident memory. Peak memory is the resident memory of the contender's processes (for Spark: the
driver, its JVM and the Python workers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

NUMERIC = 20
CATEGORICAL = 5
LEVELS = np.array(["north", "south", "east", "west"])
SHARES = [0.4, 0.3, 0.2, 0.1]
FEATURES = [f"x{index}" for index in range(NUMERIC)]
HERE = Path(__file__).resolve().parent
Row = tuple[str, str, str, int | str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--evidently-python", help="an interpreter with evidently installed")
    parser.add_argument("--time-limit", type=float, default=1800.0, help="seconds per contender")
    parser.add_argument("--memory-limit", type=float, default=8.0, help="GB per contender")
    args = parser.parse_args()

    from ferry.spark.compat import quiet_pandas_warnings
    from ferry.spark.session import spark_session

    with quiet_pandas_warnings(), tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        reference = write_data(root / "reference", args.rows, args.chunk_rows, drift=False)
        current = write_data(root / "current", args.rows, args.chunk_rows, drift=True)
        print(f"data written in {time.perf_counter() - started:.0f} s", flush=True)
        spark = spark_session(args.master, "ferry-benchmark", {"spark.driver.memory": "2g"})
        rows = noted(scoring(spark, root, reference, args.rows))
        rows += noted(spark_drift(spark, reference, current))
        spark.stop()
        limits = (args.time_limit, args.memory_limit * 1e9)
        rows += noted([contender("in-memory DriftDetector", sys.executable, "ferry", root, limits)])
        rows += noted([evidently(args.evidently_python, root, limits)])
    show(rows, f"Spark, {args.rows:,} rows x 25 columns, {args.master}")


def write_data(folder: Path, rows: int, chunk_rows: int, *, drift: bool) -> str:
    """Write ``rows`` rows as one Parquet file per chunk of ``chunk_rows``; the folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    for number, start in enumerate(range(0, rows, chunk_rows)):
        size = min(chunk_rows, rows - start)
        rng = np.random.default_rng([int(drift), number])
        columns: dict[str, Any] = {"id": np.arange(start, start + size)}
        for index, name in enumerate(FEATURES):
            shift = 0.3 if drift and index == 0 else 0.0
            scale = 1.5 if drift and index == 1 else 1.0
            columns[name] = rng.normal(index / 10 + shift, scale, size)
        for index in range(CATEGORICAL):
            shares = [0.25] * 4 if drift and index == 0 else SHARES
            columns[f"c{index}"] = LEVELS[rng.choice(len(LEVELS), size, p=shares)]
        pq.write_table(pa.table(columns), folder / f"part-{number:05d}.parquet")
    return str(folder)


class Usage:
    """Samples a process tree (resident memory, CPU time) until stopped; may kill it.

    CPU seconds are what the tree's processes spent while watched (the root itself left out
    with ``own=False``, when the root is this benchmark): on a shared machine the wall time
    measures the other users too, the CPU time only the contender.
    """

    def __init__(self, pid: int, limit: float = float("inf"), *, own: bool = True) -> None:
        self.pid, self.limit, self.own = pid, limit, own
        self.peak, self.exceeded = 0, False
        self._first = {p: _cpu_ticks(p) for p in _tree(pid)}
        self._last = dict(self._first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Usage:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        counted = [p for p in self._last if self.own or p != self.pid]
        ticks = sum(self._last[p] - self._first.get(p, 0) for p in counted)
        return ticks / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> list[int]:
        tree = _tree(self.pid)
        for pid in tree:
            self._last[pid] = max(self._last.get(pid, 0), _cpu_ticks(pid))
        self.peak = max(self.peak, sum(_resident(pid) for pid in tree))
        return tree

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            tree = self._sample()
            if self.peak > self.limit:
                self.exceeded = True
                for pid in tree:
                    _kill(pid)
                return


def _cpu_ticks(pid: int) -> int:
    """User plus system clock ticks ``pid`` has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _resident(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError):
        return 0


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def timed(action: Callable[[], Any]) -> tuple[float, Usage, Any]:
    """Seconds, the usage of this process tree (CPU of its children only), the result."""
    with Usage(os.getpid(), own=False) as usage:
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
    return seconds, usage, result


def throughput(rows: int, seconds: float, usage: Usage) -> str:
    cpu = usage.cpu_seconds
    return f"{rows / seconds:,.0f} rows/s; {cpu:,.0f} CPU s = {rows / cpu:,.0f} rows per CPU s"


def gigabytes(size: float) -> str:
    return f"{size / 1e9:.1f} GB"


def scoring(spark: Any, root: Path, source: str, rows: int) -> list[Row]:
    from sklearn.ensemble import RandomForestClassifier

    import ferry.spark
    from ferry import Registry

    sample = pd.read_parquet(sorted(Path(source).iterdir())[0]).head(20_000)[FEATURES]
    labels = (sample["x0"] + sample["x1"] * sample["x2"] > 0.3).astype(int)
    forest = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0)
    forest.fit(sample, labels)
    df = spark.read.parquet(source)
    with Registry(home=root / "home") as registry:
        registry.register(forest, "bench", input_example=sample.head(20))
        scored = ferry.spark.predict(df, "bench", registry=registry)  # resolve + compile
        seconds, usage, _ = timed(lambda: scored.write.format("noop").mode("overwrite").save())
    ours = ("scoring", "ferry.spark.predict (ONNX)", throughput(rows, seconds, usage), usage.peak)
    return [ours, mlflow_scoring(spark, root, forest, df, sample, rows)]


def mlflow_scoring(
    spark: Any, root: Path, forest: Any, df: Any, sample: pd.DataFrame, rows: int
) -> Row:
    name = "mlflow.pyfunc.spark_udf"
    try:
        import mlflow.pyfunc
        import mlflow.sklearn
    except ImportError as error:
        return ("scoring", name, f"not run: {error}", "")
    from pyspark.sql import functions

    path = root / "mlflow-model"
    mlflow.sklearn.save_model(  # our own forest, so its tree type is trusted
        forest, str(path), input_example=sample.head(5),
        skops_trusted_types=["sklearn.tree._tree.Tree"],
    )  # fmt: skip
    udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")
    scored = df.withColumn("p", udf(functions.struct(*FEATURES)))
    seconds, usage, _ = timed(lambda: scored.write.format("noop").mode("overwrite").save())
    return ("scoring", name, throughput(rows, seconds, usage), usage.peak)


def spark_drift(spark: Any, reference: str, current: str) -> list[Row]:
    from ferry.drift import DriftDetector
    from ferry.spark.drift import check_spark, fit_spark

    def run() -> Any:
        detector = fit_spark(DriftDetector(ignore=["id"]), spark.read.parquet(reference))
        return check_spark(detector, spark.read.parquet(current))

    seconds, usage, report = timed(run)
    found = ", ".join(f.name for f in report.drifted_features)
    text = f"{seconds:.0f} s, {usage.cpu_seconds:.0f} CPU s ({found})"
    return [("drift", "ferry.spark fit_spark + check_spark", text, usage.peak)]


def contender(name: str, python: str, kind: str, root: Path, limits: tuple[float, float]) -> Row:
    """Run one in-memory contender in its own process under the time and memory limits."""
    seconds_limit, bytes_limit = limits
    command = [python, str(HERE / "spark_contender.py"), kind]
    command += [str(root / "reference"), str(root / "current")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Usage(process.pid, bytes_limit) as usage:
        try:
            out, err = process.communicate(timeout=seconds_limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            text = f"did not finish in {seconds_limit:.0f} s ({usage.cpu_seconds:.0f} CPU s)"
            return ("drift", name, text, usage.peak)
    if usage.exceeded:
        return ("drift", name, f"stopped at the {gigabytes(bytes_limit)} memory limit", usage.peak)
    if process.returncode != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return ("drift", name, f"failed: {last[:120]}", usage.peak)
    result = json.loads(out.strip().splitlines()[-1])
    found = ", ".join(result["drifted"])
    text = (
        f"{result['seconds']:.0f} s + {result['read_seconds']:.0f} s read, "
        f"{usage.cpu_seconds:.0f} CPU s in all ({found})"
    )
    return ("drift", name, text, usage.peak)


def evidently(python: str | None, root: Path, limits: tuple[float, float]) -> Row:
    name = "Evidently DataDriftPreset"
    if python is None:
        return ("drift", name, "not run: give --evidently-python", "")
    return contender(name, python, "evidently", root, limits)


def noted(rows: list[Row]) -> list[Row]:
    """Print each result as it comes (a long run stopped early keeps what it measured)."""
    for task, name, result, peak in rows:
        memory = gigabytes(peak) if isinstance(peak, int) else peak
        print(f"{task} | {name} | {result} | {memory}", flush=True)
    return rows


def show(rows: list[Row], title: str) -> None:
    table = Table(title=title)
    for name in ("task", "contender", "result", "peak memory"):
        table.add_column(name)
    for task, name, result, peak in rows:
        table.add_row(task, name, result, gigabytes(peak) if isinstance(peak, int) else peak)
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
