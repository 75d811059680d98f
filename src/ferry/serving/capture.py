"""The prediction log and feedback labels, written without delaying any response.

Requests append to an in-memory buffer (a list append under a lock); a background thread
writes Parquet files, Hive-partitioned so the drift monitor reads them as one dataset:

- ``$FERRY_HOME/predictions/model=<name>/version=<v>/day=<YYYY-MM-DD>/part-<uuid>.parquet``:
  the input features under their own names, ``ferry_request_id``, ``ferry_time`` (UTC),
  ``ferry_prediction`` and ``ferry_confidence`` (max class probability; null for regressors).
- ``$FERRY_HOME/feedback/model=<name>/day=<YYYY-MM-DD>/part-<uuid>.parquet``:
  ``ferry_request_id``, ``ferry_time``, ``label``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("ferry.serving")
SLICE_REQUESTS = 500
"""Requests converted per slice of a flush (a few milliseconds of interpreter time each)."""


@dataclass(frozen=True)
class _Batch:
    model: str
    version: str
    names: tuple[str, ...]
    request_id: str
    time: float
    """Seconds since the epoch (UTC): cheap to take per request, vectorised when written."""
    rows: np.ndarray
    predictions: np.ndarray
    confidence: np.ndarray | None


class PredictionLog:
    """Samples requests and writes them (and feedback) as Parquet in the background."""

    def __init__(
        self, home: Path, *, sample_rate: float, flush_rows: int, flush_seconds: float
    ) -> None:
        self.home = home
        self.sample_rate = sample_rate
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._batches: list[_Batch] = []
        self._feedback: list[tuple[str, str, datetime, Any]] = []
        self._rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._random = random.Random()

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._loop, name="ferry-capture", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is buffered and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def record(
        self,
        model: str,
        version: str,
        names: Sequence[str],
        request_id: str,
        rows: np.ndarray,
        predictions: np.ndarray,
        confidence: np.ndarray | None,
    ) -> None:
        """Keep one request's inputs and outputs, if sampled; never blocks on I/O."""
        if self.sample_rate < 1.0 and self._random.random() >= self.sample_rate:
            return
        batch = _Batch(
            model,
            version,
            tuple(names),
            request_id,
            time.time(),
            rows,
            predictions,
            confidence,
        )
        with self._lock:
            self._batches.append(batch)
            self._rows += len(rows)
            if self._rows >= self.flush_rows:
                self._wake.set()

    def feedback(self, model: str, request_id: str, label: Any) -> None:
        """Keep a ground-truth label for an earlier request."""
        with self._lock:
            self._feedback.append((model, request_id, datetime.now(UTC), label))
        self._wake.set()

    def flush(self) -> None:
        """Write everything buffered now (also called by the writer thread)."""
        with self._lock:
            batches, self._batches, self._rows = self._batches, [], 0
            feedback, self._feedback = self._feedback, []
        _write_predictions(self.home, batches)
        _write_feedback(self.home, feedback)

    def _loop(self) -> None:
        import pyarrow.parquet  # noqa: F401  # imported here, at start-up, not during the first flush

        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()


def _write_predictions(home: Path, batches: list[_Batch]) -> None:
    groups: dict[tuple[str, str, str], list[_Batch]] = defaultdict(list)
    for batch in batches:
        groups[(batch.model, batch.version, _day(batch.time))].append(batch)
    for (model, version, day), group in groups.items():
        folder = home / "predictions" / f"model={model}" / f"version={version}" / f"day={day}"
        try:
            _write_table(folder, _sliced_columns(group))
        except Exception:  # one bad group must neither stop the others nor the server
            log.exception("could not write %d logged rows of %s:%s", len(group), model, version)


def _sliced_columns(group: list[_Batch]) -> Any:
    """The group's table, built a slice at a time, yielding the GIL between slices so that a
    flush never stalls the event loop for long."""
    import pyarrow as pa

    tables = []
    for start in range(0, len(group), SLICE_REQUESTS):
        tables.append(pa.table(_prediction_columns(group[start : start + SLICE_REQUESTS])))
        time.sleep(0)
    return pa.concat_tables(tables, promote_options="permissive")


def _prediction_columns(group: list[_Batch]) -> dict[str, Any]:
    """Arrow columns built from numpy arrays: no per-value Python objects, so the writer
    thread holds the GIL only briefly and request latency does not feel it."""
    import pyarrow as pa

    names = group[0].names
    counts = np.array([len(batch.rows) for batch in group])
    rows = np.concatenate([batch.rows for batch in group])
    columns: dict[str, Any] = {name: _arrow(rows[:, index]) for index, name in enumerate(names)}
    ids = pa.array([b.request_id for b in group])
    columns["ferry_request_id"] = ids.take(pa.array(np.repeat(np.arange(len(group)), counts)))
    micros = np.repeat(np.array([b.time for b in group]) * 1e6, counts).astype(np.int64)
    columns["ferry_time"] = pa.array(micros, type=pa.timestamp("us", tz="UTC"))
    columns["ferry_prediction"] = _arrow(np.concatenate([b.predictions for b in group]))
    confidence = [
        b.confidence if b.confidence is not None else np.full(len(b.rows), np.nan) for b in group
    ]
    values = np.concatenate(confidence).astype(np.float64)
    columns["ferry_confidence"] = pa.array(values, mask=np.isnan(values))
    return columns


def _day(seconds: float) -> str:
    """The UTC day of an epoch time, for the ``day=`` partition."""
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def _write_feedback(home: Path, feedback: list[tuple[str, str, datetime, Any]]) -> None:
    groups: dict[tuple[str, str], list[tuple[str, str, datetime, Any]]] = defaultdict(list)
    for item in feedback:
        groups[(item[0], item[2].date().isoformat())].append(item)
    for (model, day), items in groups.items():
        folder = home / "feedback" / f"model={model}" / f"day={day}"
        columns = {
            "ferry_request_id": [item[1] for item in items],
            "ferry_time": [item[2] for item in items],
            "label": _arrow(np.array([item[3] for item in items], dtype=object)),
        }
        try:
            _write_table(folder, columns)
        except Exception:
            log.exception("could not write %d feedback labels of %s", len(items), model)


def _arrow(values: np.ndarray) -> Any:
    """An Arrow array of ``values``; mixed kinds (``"x"`` beside ``1``) are kept as text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str))


def _write_table(folder: Path, columns: Any) -> None:
    """One Parquet file, written under a temporary name and renamed: readers never see half."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    table = columns if isinstance(columns, pa.Table) else pa.table(columns)
    if "ferry_time" in table.schema.names:
        index = table.schema.get_field_index("ferry_time")
        table = table.set_column(
            index, "ferry_time", table.column("ferry_time").cast(pa.timestamp("us", tz="UTC"))
        )
    name = f"part-{uuid.uuid4().hex}.parquet"
    temporary = folder / f".{name}.tmp"
    pq.write_table(table, temporary)
    temporary.rename(folder / name)
