"""The current data a monitor step compares with the champion's reference.

Either a window of the server's prediction log (the default) or a file named by ``[drift]
current``. Either way the result holds the champion's input columns, the champion's outputs on
those rows, and the labels where they are known, so data, prediction and performance drift are
all checked on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import InvalidInput
from ferry.registry.loaded import LoadedModel
from ferry.training.data import read_table
from ferry.training.prediction_log import (
    CONFIDENCE,
    JOINED_LABEL,
    PREDICTION,
    VERSION,
    LogWindow,
)

Array = NDArray[Any]


@dataclass(frozen=True, eq=False)
class CurrentData:
    """Rows to check: features, the champion's outputs and labels (NaN where unknown)."""

    source: str
    features: pd.DataFrame
    predictions: Array | None
    labels: Array | None
    confidence: Array | None
    start: datetime | None
    end: datetime | None
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """How many rows are checked."""
        return len(self.features)

    @property
    def labelled(self) -> int:
        """How many rows have a known label."""
        return 0 if self.labels is None else int(pd.notna(pd.Series(self.labels)).sum())


def from_log(
    window: LogWindow, columns: list[str], champion_version: str, min_rows: int
) -> CurrentData:
    """The window's rows; outputs and labels only from rows the champion itself answered.

    Rows answered by another version (a canary, a previous champion) still count for data
    drift, but their outputs are not the champion's, so when the champion answered fewer than
    ``min_rows`` the check runs on the features alone.
    """
    frame = window.frame
    notes = list(window.notes)
    _require(frame, columns, "the prediction log")
    confidence = _confidence(frame)
    served = frame[frame[VERSION] == champion_version] if len(frame) else frame
    if len(served) and (len(served) == len(frame) or len(served) >= min_rows):
        if len(served) < len(frame):
            notes.append(f"checked the {len(served)} rows the champion answered")
        return CurrentData(
            "predictions",
            served[columns].reset_index(drop=True),
            served[PREDICTION].to_numpy(),
            served[JOINED_LABEL].to_numpy(),
            confidence,
            window.start,
            window.end,
            tuple(notes),
        )
    if len(frame):
        notes.append(
            f"the champion answered {len(served)} of {len(frame)} rows: outputs and labels "
            "were not checked"
        )
    features = frame[columns].reset_index(drop=True) if len(frame) else pd.DataFrame()
    return CurrentData(
        "predictions", features, None, None, confidence, window.start, window.end, tuple(notes)
    )


def from_file(path: Path, columns: list[str], target: str, champion: LoadedModel) -> CurrentData:
    """A file of current rows; the champion predicts them, the target column gives labels."""
    frame = read_table(path, "drift.current")
    _require(frame, columns, path.name)
    features = frame[columns].reset_index(drop=True)
    predictions = champion.predict(features) if len(features) else None
    labels = frame[target].to_numpy() if target and target in frame.columns else None
    confidence = None
    if len(features) and champion.has_predict_proba:
        confidence = champion.predict_proba(features).max(axis=1)
    return CurrentData(str(path), features, predictions, labels, confidence, None, None, ())


def _require(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    if frame.empty:
        return
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInput(f"{where} lacks columns the champion uses: {missing}")


def _confidence(frame: pd.DataFrame) -> Array | None:
    if CONFIDENCE not in frame.columns or frame.empty:
        return None
    values = pd.to_numeric(frame[CONFIDENCE], errors="coerce").to_numpy(dtype=float)
    present = values[~np.isnan(values)]
    return present if present.size else None
