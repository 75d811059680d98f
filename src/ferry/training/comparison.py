"""A fair champion/challenger comparison: both models scored on rows neither was trained on.

When the training table grows, a fresh holdout drawn from it holds rows the champion was
trained on, where a model that memorises (an unpruned tree, a forest) scores ~1.0 and the
challenger looks worse than it is. So every version trained by ferry keeps the identity of
its training rows (:data:`TRAINING_ROWS_FILE`: one 64-bit hash per row of feature and target
values, sorted) and, after a time split, its training cut; the comparison holdout is the
candidate's holdout minus the rows in either model's training set and, for a champion with a
time cut, minus the rows not newer than that cut.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import NotFound
from ferry.registry.registry import ModelVersion, Registry
from ferry.training.data import TrainingData
from ferry.training.evaluation import Split
from ferry.training.policy import FORCED, REJECTED, Decision

TRAINING_ROWS_FILE = "training_rows.npy"
"""The extra file holding a version's training-row hashes (uint64, sorted, unique)."""

TIME_COLUMN_TAG, TIME_CUT_TAG = "ferry.time_column", "ferry.time_cut"
"""Tags a time-split version carries: its time column and the latest training time."""

Hashes = NDArray[np.uint64]


def row_hashes(frame: pd.DataFrame) -> Hashes:
    """One hash per row over the values of ``frame``'s columns, whatever their order or dtype:
    numbers (and booleans) as float64 with -0.0 and NaN made canonical, anything else as text."""
    canonical = pd.DataFrame(
        {str(name): _canonical(frame[name]) for name in sorted(frame.columns, key=str)}
    )
    hashed = pd.util.hash_pandas_object(canonical, index=False)
    return np.asarray(hashed.to_numpy(), dtype=np.uint64)


def _canonical(column: pd.Series) -> Any:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan) + 0.0
        values[np.isnan(values)] = np.nan
        return values
    return column.astype(str).to_numpy()


def write_training_rows(parts: Split, path: Path) -> Path:
    """Save the sorted, unique hashes of the rows a model is fitted on (features and target)."""
    np.save(path, np.unique(row_hashes(_frame(parts.train_features, parts.train_target))))
    return path


def read_training_rows(data: bytes) -> Hashes:
    """The hashes a :data:`TRAINING_ROWS_FILE` holds (never unpickles)."""
    return np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=np.uint64)


@dataclass(frozen=True)
class TrainedOn:
    """What is known of the rows a version was trained on."""

    columns: tuple[str, ...]
    hashes: Hashes | None
    time_column: str | None = None
    time_cut: str | None = None


def trained_on(registry: Registry, version: ModelVersion) -> TrainedOn:
    """A version's training rows (hash-verified) and time cut; either may be unknown for a
    version registered outside ``ferry train`` or before ferry recorded them."""
    dataset = version.metadata.get("training_dataset") or {}
    columns = tuple(str(name) for name in dataset.get("columns") or ())
    try:
        hashes = read_training_rows(registry.read_artifact(version.reference, TRAINING_ROWS_FILE))
    except NotFound:
        hashes = None
    tags = version.metadata.get("tags") or {}
    return TrainedOn(columns, hashes, tags.get(TIME_COLUMN_TAG), tags.get(TIME_CUT_TAG))


@dataclass(frozen=True, eq=False)
class ComparisonRows:
    """The holdout rows neither model was trained on, and how many were left out."""

    features: pd.DataFrame
    target: pd.Series | None
    excluded: int
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """How many rows both models are scored on."""
        return len(self.features)

    def described(self, decision: Decision) -> Decision:
        """``decision`` with the rows it was taken on in its reason."""
        shown = f"compared on {self.rows} holdout rows neither model was trained on"
        return replace(decision, reason=f"{decision.reason} ({shown}; {self.excluded} excluded)")


def comparison_rows(
    data: TrainingData, parts: Split, champion: TrainedOn, *, time_column: str = ""
) -> ComparisonRows:
    """``parts``' holdout without the rows the candidate or the champion was trained on."""
    holdout = _frame(parts.test_features, parts.test_target)
    keep = ~np.isin(
        row_hashes(holdout), row_hashes(_frame(parts.train_features, parts.train_target))
    )
    notes: list[str] = []
    if champion.hashes is None:
        notes.append(
            "the champion has no record of its training rows: rows it may have been trained "
            "on could not be excluded from the comparison"
        )
    else:
        keep &= ~_in_rows(holdout, champion, notes)
    if champion.time_cut is not None:
        keep &= _newer(data, parts, champion, time_column, notes)
    kept = parts.test_features[keep]
    target = None if parts.test_target is None else parts.test_target[keep]
    return ComparisonRows(kept, target, int((~keep).sum()), tuple(notes))


def _frame(features: pd.DataFrame, target: pd.Series | None) -> pd.DataFrame:
    """Features and target as one frame, the way training data is recorded."""
    if target is None:
        return features
    return features.assign(**{str(target.name): target.to_numpy()})


def _in_rows(holdout: pd.DataFrame, champion: TrainedOn, notes: list[str]) -> NDArray[np.bool_]:
    """Which holdout rows are among the champion's, hashed over the champion's columns."""
    missing = [column for column in champion.columns if column not in holdout.columns]
    if missing or not champion.columns:
        notes.append(
            f"the data lacks columns the champion was trained with ({missing}): its training "
            "rows could not be recognised and were not excluded"
        )
        return np.zeros(len(holdout), dtype=bool)
    hashes = row_hashes(holdout[list(champion.columns)])
    return np.isin(hashes, np.asarray(champion.hashes, dtype=np.uint64))


def _newer(
    data: TrainingData, parts: Split, champion: TrainedOn, time_column: str, notes: list[str]
) -> NDArray[np.bool_]:
    """Which holdout rows are newer than the champion's training cut."""
    everything = np.ones(len(parts.test_features), dtype=bool)
    if data.times is None or champion.time_column != time_column:
        notes.append(
            f"the champion was split by time on {champion.time_column!r}, this run "
            f"{'on ' + repr(time_column) if time_column else 'at random'}: its cut "
            f"{champion.time_cut} was not applied"
        )
        return everything
    times = data.times.loc[parts.test_features.index]
    try:
        cut = _cut(str(champion.time_cut), pd.api.types.is_float_dtype(times))
    except (TypeError, ValueError) as error:
        notes.append(f"the champion's time cut {champion.time_cut!r} cannot be compared: {error}")
        return everything
    return np.asarray((times > cut).to_numpy(), dtype=bool)


def _cut(text: str, numeric: bool) -> Any:
    """A recorded cut in the form this run's times take (numbers, or UTC timestamps)."""
    if numeric:
        return float(text)
    cut = pd.Timestamp(text)
    return cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")


def too_few_rows(rows: int, excluded: int, minimum: int, *, force: bool) -> Decision:
    """The decision when fewer than ``minimum`` rows remain to compare on."""
    reason = (
        f"only {rows} holdout rows were seen by neither model ({excluded} excluded), fewer "
        f"than evaluation.min_comparison_rows = {minimum}: the comparison would not be "
        "reliable; add new rows to the data, enlarge evaluation.holdout, or use --force"
    )
    if force:
        return Decision(FORCED, f"forced; the policy would reject: {reason}")
    return Decision(REJECTED, reason)
