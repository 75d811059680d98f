"""Reading the server's prediction log and feedback (Hive-partitioned Parquet at
``FERRY_LOG_DIR``, default ``FERRY_HOME``; every replica's files).

The layout is the contract with ``ferry.serving.capture`` (paths: ``ferry.logstore.store``)::

    predictions/model=<name>/version=<version>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet
        <each input feature>, ferry_request_id, ferry_time (UTC), ferry_prediction,
        ferry_confidence (max class probability; null for regressors)
    feedback/model=<name>/day=<YYYY-MM-DD>/part-<replica>-<uuid>.parquet
        ferry_request_id, ferry_time (UTC), label

Day folders older than the window are never opened. Files appear whole (rename, or one PUT on
object stores), so a ``part-`` file is always complete; one that cannot be read is skipped and
named in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ferry.logstore.store import (
    FEEDBACK_DIR,
    PREDICTIONS_DIR,
    LogStore,
    partition,
    partition_day,
)

REQUEST_ID = "ferry_request_id"
TIME = "ferry_time"
PREDICTION = "ferry_prediction"
CONFIDENCE = "ferry_confidence"
LABEL = "label"
VERSION = "ferry_version"
"""The ``version=`` partition, added as a column when reading."""
JOINED_LABEL = "ferry_label"
"""The feedback label once joined to its prediction (renamed: a feature may be called label)."""

LOG_COLUMNS = (REQUEST_ID, TIME, PREDICTION, CONFIDENCE, VERSION, JOINED_LABEL)
"""Columns the log adds beside the features."""


@dataclass(frozen=True, eq=False)
class LogWindow:
    """Predictions logged in ``(start, end]`` with any feedback label joined by request id."""

    frame: pd.DataFrame
    start: datetime | None
    end: datetime
    notes: tuple[str, ...]

    @property
    def rows(self) -> int:
        """How many predictions the window holds."""
        return len(self.frame)


def read_window(
    log: LogStore | Path, model: str, start: datetime | None, end: datetime
) -> LogWindow:
    """Every prediction of ``model`` logged after ``start`` (all when None) up to ``end``."""
    store = log if isinstance(log, LogStore) else LogStore(log)
    notes: list[str] = []
    parts = [
        _with_version(store, part, version, notes)
        for version, part in _partition_files(store, model, start, end)
    ]
    frames = [frame for frame in parts if frame is not None and not frame.empty]
    if not frames:
        return LogWindow(_empty(), start, end, tuple(notes))
    predictions = pd.concat(frames, ignore_index=True)
    times = pd.to_datetime(predictions[TIME], utc=True)
    keep = times <= pd.Timestamp(end)
    if start is not None:
        keep &= times > pd.Timestamp(start)
    predictions = predictions[keep].reset_index(drop=True)
    labels = read_feedback(store, model, start, notes)
    joined = predictions.merge(labels, on=REQUEST_ID, how="left")
    return LogWindow(joined, start, end, tuple(notes))


def read_feedback(
    store: LogStore, model: str, since: datetime | None, notes: list[str]
) -> pd.DataFrame:
    """The newest label per request id, from feedback days on or after ``since``'s day."""
    frames = []
    for part in store.parts(FEEDBACK_DIR, f"model={model}"):
        if not _in_window(partition_day(part), since, None):
            continue
        frame = _read(store, part, notes)
        if frame is not None:
            frames.append(frame[[REQUEST_ID, TIME, LABEL]])
    if not frames:
        return pd.DataFrame({REQUEST_ID: pd.Series([], dtype=object), JOINED_LABEL: []})
    feedback = pd.concat(frames, ignore_index=True).sort_values(TIME, kind="stable")
    newest = feedback.drop_duplicates(REQUEST_ID, keep="last")
    return newest[[REQUEST_ID, LABEL]].rename(columns={LABEL: JOINED_LABEL})


def _partition_files(
    store: LogStore, model: str, start: datetime | None, end: datetime
) -> list[tuple[str, str]]:
    """``(version, file)`` of every prediction file whose day can hold rows of the window."""
    files: list[tuple[str, str]] = []
    for part in store.parts(PREDICTIONS_DIR, f"model={model}"):
        version = partition(part, "version")
        if version is not None and _in_window(partition_day(part), start, end):
            files.append((version, part))
    return files


def _in_window(day: date | None, start: datetime | None, end: datetime | None) -> bool:
    """Whether a ``day=`` partition can hold rows of the window (the UTC day of the row)."""
    if day is None:
        return False
    if start is not None and day < start.date():
        return False
    return end is None or day <= end.date()


def _with_version(
    store: LogStore, part: str, version: str, notes: list[str]
) -> pd.DataFrame | None:
    frame = _read(store, part, notes)
    if frame is not None:
        frame[VERSION] = version
    return frame


def _read(store: LogStore, part: str, notes: list[str]) -> pd.DataFrame | None:
    import pyarrow as pa

    try:
        frame: pd.DataFrame = store.read(part).to_pandas()
    except (OSError, pa.ArrowException) as error:
        notes.append(f"skipped unreadable log file {part.rsplit('/', 1)[-1]}: {error}")
        return None
    return frame


def _empty() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series([], dtype=object) for column in LOG_COLUMNS})
