"""Reading the server's prediction log and feedback (Hive-partitioned Parquet under FERRY_HOME).

The layout is the contract with ``ferry.serving.capture``::

    predictions/model=<name>/version=<version>/day=<YYYY-MM-DD>/part-<uuid>.parquet
        <each input feature>, ferry_request_id, ferry_time (UTC), ferry_prediction,
        ferry_confidence (max class probability; null for regressors)
    feedback/model=<name>/day=<YYYY-MM-DD>/part-<uuid>.parquet
        ferry_request_id, ferry_time (UTC), label

Day folders older than the window are never opened. Files appear by rename, so a ``part-``
file is always complete; one that cannot be read is skipped and named in the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

PREDICTIONS_DIR = "predictions"
FEEDBACK_DIR = "feedback"
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


def read_window(home: Path, model: str, start: datetime | None, end: datetime) -> LogWindow:
    """Every prediction of ``model`` logged after ``start`` (all when None) up to ``end``."""
    notes: list[str] = []
    parts = [
        _with_version(part, version, notes)
        for version, part in _partition_files(home / PREDICTIONS_DIR / f"model={model}", start, end)
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
    labels = read_feedback(home, model, start, notes)
    joined = predictions.merge(labels, on=REQUEST_ID, how="left")
    return LogWindow(joined, start, end, tuple(notes))


def read_feedback(home: Path, model: str, since: datetime | None, notes: list[str]) -> pd.DataFrame:
    """The newest label per request id, from feedback days on or after ``since``'s day."""
    root = home / FEEDBACK_DIR / f"model={model}"
    frames = []
    for day_folder in _day_folders(root, since, None):
        for part in sorted(day_folder.glob("part-*.parquet")):
            frame = _read(part, notes)
            if frame is not None:
                frames.append(frame[[REQUEST_ID, TIME, LABEL]])
    if not frames:
        return pd.DataFrame({REQUEST_ID: pd.Series([], dtype=object), JOINED_LABEL: []})
    feedback = pd.concat(frames, ignore_index=True).sort_values(TIME, kind="stable")
    newest = feedback.drop_duplicates(REQUEST_ID, keep="last")
    return newest[[REQUEST_ID, LABEL]].rename(columns={LABEL: JOINED_LABEL})


def _partition_files(root: Path, start: datetime | None, end: datetime) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for version_folder in sorted(root.glob("version=*")):
        version = version_folder.name.removeprefix("version=")
        for day_folder in _day_folders(version_folder, start, end):
            files.extend((version, part) for part in sorted(day_folder.glob("part-*.parquet")))
    return files


def _day_folders(root: Path, start: datetime | None, end: datetime | None) -> list[Path]:
    """``day=`` folders that can hold rows of the window (the day is the UTC day of the row)."""
    folders = []
    for folder in sorted(root.glob("day=*")):
        day = _day(folder.name.removeprefix("day="))
        if day is None:
            continue
        if start is not None and day < start.date():
            continue
        if end is not None and day > end.date():
            continue
        folders.append(folder)
    return folders


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _with_version(part: Path, version: str, notes: list[str]) -> pd.DataFrame | None:
    frame = _read(part, notes)
    if frame is not None:
        frame[VERSION] = version
    return frame


def _read(part: Path, notes: list[str]) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame: pd.DataFrame = pq.read_table(part).to_pandas()
    except (OSError, pa.ArrowException) as error:
        notes.append(f"skipped unreadable log file {part.name}: {error}")
        return None
    return frame


def _empty() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series([], dtype=object) for column in LOG_COLUMNS})
