"""The prediction log and feedback labels, written without delaying any response.

Requests append to an in-memory buffer (a list append under a lock); a background thread
writes Parquet files through a :class:`~ferry.logstore.store.LogStore` (``FERRY_LOG_DIR``,
default ``FERRY_HOME``), Hive-partitioned so the drift monitor reads them as one dataset:

- ``predictions/model=<name>/version=<v>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet``:
  the input features under their own names, ``ferry_request_id``, ``ferry_time`` (UTC),
  ``ferry_prediction`` and ``ferry_confidence`` (max class probability; null for regressors).
- ``feedback/model=<name>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet``:
  ``ferry_request_id``, ``ferry_time``, ``label``.

Prediction rows that cannot be written are kept and retried at the next flush, up to
``max_pending_rows``; beyond that the oldest are dropped and counted. Feedback is never
buffered silently: :meth:`PredictionLog.write_feedback` writes it at once and each label's
future says whether it is durable, so ``POST /feedback`` never confirms a lost label.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import numpy as np

from ferry.errors import StorageUnavailable
from ferry.logstore import columns as arrow
from ferry.logstore.retention import LogRetention, RetentionResult
from ferry.logstore.store import FEEDBACK_DIR, PREDICTIONS_DIR, LogStore

log = logging.getLogger("ferry.serving")
SLICE_REQUESTS = 500
"""Requests converted per slice of a flush (a few milliseconds of interpreter time each)."""
RETENTION_INTERVAL = 3600.0
"""Seconds between two retention passes of a running server (the first runs at start)."""


class LogEvents(Protocol):
    """Who hears about the writer's results (the server's metrics)."""

    def log_written(self, model: str, rows: int) -> None: ...

    def log_failed(self, model: str) -> None: ...

    def log_dropped(self, model: str, rows: int) -> None: ...


class _Batch(NamedTuple):
    """One logged request. The buffer holds these as plain tuples (see :meth:`record`)."""

    model: str
    version: str
    names: tuple[str, ...]
    request_id: str
    time: float
    """Seconds since the epoch (UTC): cheap to take per request, vectorised when written."""
    rows: np.ndarray
    predictions: np.ndarray
    confidence: np.ndarray | None


@dataclass(frozen=True)
class _Label:
    model: str
    request_id: str
    time: datetime
    label: Any
    durable: Future[None]


@dataclass
class LogState:
    """What the writer has done so far, shown in ``/model/health`` as ``prediction_log``."""

    location: str
    replica: str
    written: int = 0
    dropped: int = 0
    pending: int = 0
    failures: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    retention: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``prediction_log`` block of health."""
        return dict(vars(self))


class PredictionLog:
    """Samples requests and writes them (and feedback) as Parquet in the background."""

    def __init__(
        self,
        store: LogStore,
        *,
        replica: str,
        sample_rate: float,
        flush_rows: int,
        flush_seconds: float,
        events: LogEvents | None = None,
        retention: LogRetention | None = None,
        max_pending_rows: int = 200_000,
    ) -> None:
        self.store = store
        self.replica = replica
        self.sample_rate = sample_rate
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.events = events
        self.retention = retention or LogRetention()
        self.max_pending_rows = max_pending_rows
        self.state = LogState(store.location, replica)
        self._lock = threading.Lock()
        self._batches: list[tuple[Any, ...]] = []
        self._retry: list[_Batch] = []
        self._labels: list[_Label] = []
        self._writing_labels = threading.Lock()
        self._rows = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._random = random.Random()
        self._next_retention = 0.0
        self._settled = False
        self.retained = threading.Event()
        """Set after each retention pass of the writer (the first runs when it starts)."""

    def start(self) -> None:
        """Start the writer thread."""
        thread = threading.Thread(target=self._loop, name="ferry-capture", daemon=True)
        thread.start()
        self._thread = thread

    def close(self) -> None:
        """Write what is buffered and stop; rows that still cannot be written are dropped."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
        with self._lock:
            lost, self._retry = self._retry, []
        self._drop(lost, "the server stopped")
        self.write_feedback()

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
        """Keep one request's inputs and outputs, if sampled; never blocks on I/O.

        The request is buffered as a plain tuple of strings and arrays, which the garbage
        collector stops tracking at its next pass: tens of thousands of buffered requests
        then add nothing to the full collections that pause the event loop (as a dataclass
        each, they made those pauses 30-40 ms and several a second at 32 connections).
        """
        if self.sample_rate < 1.0 and self._random.random() >= self.sample_rate:
            return
        batch = (model, version, tuple(names), request_id, time.time(), rows, predictions,
                 confidence)  # fmt: skip
        with self._lock:
            self._batches.append(batch)
            self._rows += len(rows)
            if self._rows >= self.flush_rows:
                self._wake.set()

    def feedback(self, model: str, request_id: str, label: Any) -> Future[None]:
        """Queue a ground-truth label; the future completes once :meth:`write_feedback` has
        written it (or fails with :class:`StorageUnavailable`)."""
        durable: Future[None] = Future()
        with self._lock:
            self._labels.append(_Label(model, request_id, datetime.now(UTC), label, durable))
        return durable

    def write_feedback(self) -> None:
        """Write every queued label now. One write at a time: callers queue behind it, and the
        next write takes every label they queued (one file and one fsync for all of them)."""
        with self._writing_labels:
            with self._lock:
                labels, self._labels = self._labels, []
            self._write_labels(labels)

    def _write_labels(self, labels: list[_Label]) -> None:
        groups: dict[tuple[str, str], list[_Label]] = defaultdict(list)
        for item in labels:
            groups[(item.model, item.time.date().isoformat())].append(item)
        for (model, day), items in groups.items():
            try:
                self._write((FEEDBACK_DIR, f"model={model}", f"day={day}"), _feedback_table(items))
            except Exception as error:
                self._failed(model, error, f"{len(items)} feedback labels")
                refused = StorageUnavailable(
                    f"the label was not recorded: the feedback log at {self.store.location} "
                    f"cannot be written ({_describe(error)}); send it again later"
                )
                for item in items:
                    item.durable.set_exception(refused)
            else:
                for item in items:
                    item.durable.set_result(None)

    def flush(self) -> None:
        """Write everything buffered now, retrying rows that failed before."""
        with self._lock:
            taken, retry = self._batches, self._retry
            self._batches, self._rows, self._retry = [], 0, []
        batches = [*retry, *map(_Batch._make, taken)]  # outside the lock: requests append
        failed = self._write_predictions(batches)
        with self._lock:
            self._retry = failed + self._retry
            excess = sum(len(b.rows) for b in self._retry) - self.max_pending_rows
            lost = []
            while excess > 0 and self._retry:
                lost.append(self._retry.pop(0))
                excess -= len(lost[-1].rows)
            self.state.pending = sum(len(b.rows) for b in self._retry)
        self._drop(lost, f"more than {self.max_pending_rows} rows wait to be written")

    def apply_retention(self) -> RetentionResult | None:
        """One retention pass over the log location (every replica may run one)."""
        if not self.retention.active:
            return None
        try:
            result = self.retention.apply(self.store, datetime.now(UTC))
        except Exception as error:
            log.warning("prediction log retention failed: %s", _describe(error))
            return None
        self.state.retention = result.to_dict()
        return result

    def _loop(self) -> None:
        # Arrow (and the pandas it pulls in, ~100 MB and half a second) loads at the first flush
        # that has rows: an idle server, or one started only to answer, never pays for it.
        while True:
            if time.monotonic() >= self._next_retention:
                self._next_retention = time.monotonic() + RETENTION_INTERVAL
                self.apply_retention()
                self.retained.set()
            if self._stop.is_set():
                return
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self._flush_and_settle()

    def _flush_and_settle(self) -> None:
        """Flush; after the first flush that wrote rows, freeze what it imported (Arrow's
        modules, tens of thousands of objects) out of the garbage collector's view, as the
        server froze its start-up objects: full collections, which stop the event loop,
        then only walk what requests leave behind."""
        written = self.state.written
        self.flush()
        if not self._settled and self.state.written > written:
            gc.freeze()
            self._settled = True

    def _write_predictions(self, batches: list[_Batch]) -> list[_Batch]:
        """Write each (model, version, day) group; return the batches of groups that failed."""
        groups: dict[tuple[str, str, int], list[_Batch]] = defaultdict(list)
        for batch in batches:  # whole UTC days since the epoch: one division, not a datetime
            groups[(batch.model, batch.version, int(batch.time // 86400))].append(batch)
        failed: list[_Batch] = []
        for (model, version, days), group in groups.items():
            day = _day(days * 86400.0)
            folder = (PREDICTIONS_DIR, f"model={model}", f"version={version}", f"day={day}")
            rows = sum(len(batch.rows) for batch in group)
            try:
                self._write(folder, _sliced_columns(group))
            except Exception as error:  # one bad group must neither stop the others nor the server
                self._failed(model, error, f"{rows} logged rows of {model}:{version}")
                failed.extend(group)
            else:
                self.state.written += rows
                if self.events is not None:
                    self.events.log_written(model, rows)
        return failed

    def _write(self, folder: tuple[str, ...], columns: Any) -> None:
        self.store.write(folder, _parquet_bytes(columns), self.replica)

    def _failed(self, model: str, error: Exception, what: str) -> None:
        described = _describe(error)
        if described != self.state.last_error:  # once per kind of failure, not per flush
            log.error("could not write %s to %s: %s", what, self.store.location, described)
        self.state.failures += 1
        self.state.last_error = described
        self.state.last_error_at = datetime.now(UTC).isoformat()
        if self.events is not None:
            self.events.log_failed(model)

    def _drop(self, batches: list[_Batch], why: str) -> None:
        counts: dict[str, int] = defaultdict(int)
        for batch in batches:
            counts[batch.model] += len(batch.rows)
        for model, rows in counts.items():
            log.error("dropped %d logged rows of %s: %s", rows, model, why)
            self.state.dropped += rows
            if self.events is not None:
                self.events.log_dropped(model, rows)


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
    """Arrow columns built from numpy buffers: no per-value Python objects and no pandas, so
    the writer thread holds the GIL only briefly and request latency does not feel it."""
    names = group[0].names
    counts = np.array([len(batch.rows) for batch in group])
    rows = np.concatenate([batch.rows for batch in group])
    columns = {name: arrow.column(rows[:, index]) for index, name in enumerate(names)}
    ids = arrow.texts([b.request_id for b in group])
    columns["ferry_request_id"] = ids.take(arrow.numbers(np.repeat(np.arange(len(group)), counts)))
    micros = np.repeat(np.array([b.time for b in group]) * 1e6, counts).astype(np.int64)
    columns["ferry_time"] = arrow.timestamps(micros)
    columns["ferry_prediction"] = arrow.column(np.concatenate([b.predictions for b in group]))
    confidence = [
        b.confidence if b.confidence is not None else np.full(len(b.rows), np.nan) for b in group
    ]
    values = np.concatenate(confidence).astype(np.float64)
    columns["ferry_confidence"] = arrow.numbers(values, mask=np.isnan(values))
    return columns


def _day(seconds: float) -> str:
    """The UTC day of an epoch time, for the ``day=`` partition."""
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def _feedback_table(items: list[_Label]) -> dict[str, Any]:
    return {
        "ferry_request_id": [item.request_id for item in items],
        "ferry_time": [item.time for item in items],
        "label": arrow.column(np.array([item.label for item in items], dtype=object)),
    }


def _describe(error: Exception) -> str:
    """An error in one line, without the file name an OSError carries (callers see it)."""
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return f"{type(error).__name__}: {str(error)[:200]}"


def _parquet_bytes(columns: Any) -> bytes:
    """One Parquet file's bytes, with ``ferry_time`` as UTC microseconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = columns if isinstance(columns, pa.Table) else pa.table(columns)
    if "ferry_time" in table.schema.names:
        index = table.schema.get_field_index("ferry_time")
        table = table.set_column(
            index, "ferry_time", table.column("ferry_time").cast(pa.timestamp("us", tz="UTC"))
        )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
