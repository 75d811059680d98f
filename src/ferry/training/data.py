"""Training data: read from CSV, Parquet or a SQL query, then checked before anything is fitted.

The checks catch what silently ruins a retrain: the target gone, too few rows, a column that
arrives mostly empty, and columns the champion needs that are no longer there. Harmless changes
(a new column, an int column now float) are kept as notes in the run record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ferry.errors import InvalidInput
from ferry.training.sections import DataSection


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Checked features and target, the frame they came from, and notes on what was found."""

    name: str
    features: pd.DataFrame
    target: pd.Series | None
    notes: tuple[str, ...] = field(default=())
    times: pd.Series | None = None

    @property
    def rows(self) -> int:
        """How many rows training uses."""
        return len(self.features)

    @property
    def frame(self) -> pd.DataFrame:
        """Features and target together, as fingerprinted at registration."""
        frame = self.features.copy()
        if self.target is not None:
            frame[self.target.name] = self.target.to_numpy()
        frame.attrs["name"] = self.name
        return frame


def read_source(data: DataSection) -> pd.DataFrame:
    """The frame ``[data] source`` names (``query`` runs against a SQL source)."""
    if data.is_sql:
        return _read_sql(data.source, data.query)
    return read_table(Path(data.source), "data.source")


def read_table(path: Path, key: str) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; ``key`` names the setting in error messages."""
    if not path.is_file():
        raise InvalidInput(f"{key}: file {str(path)!r} does not exist")
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"{key}: cannot read {path.name}: {error}") from None
    frame.columns = [str(column) for column in frame.columns]
    frame.attrs["name"] = path.name
    return frame


def _read_sql(url: str, query: str) -> pd.DataFrame:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError) as error:
        raise InvalidInput(f"data.source = {shown!r}: {error}") from None
    try:
        with engine.connect() as connection:
            frame = pd.read_sql_query(text(query), connection)
    except (SQLAlchemyError, pd.errors.DatabaseError) as error:
        cause = error.__cause__ if isinstance(error.__cause__, SQLAlchemyError) else error
        first = str(cause).splitlines()[0]
        raise InvalidInput(f"data.query failed on {shown}: {first}") from None
    finally:
        engine.dispose()
    frame.columns = [str(column) for column in frame.columns]
    frame.attrs["name"] = shown
    return frame


def prepare(
    frame: pd.DataFrame,
    data: DataSection,
    *,
    task: str,
    champion_schema: dict[str, Any] | None = None,
    allow_schema_change: bool = False,
    time_column: str = "",
) -> TrainingData:
    """Select features and target (and the times of a time split) and check them;
    :class:`InvalidInput` says what is wrong."""
    name = str(frame.attrs.get("name", "the data"))
    if frame.empty:
        raise InvalidInput(f"data.source: {name} has no rows")
    notes: list[str] = []
    target = _target(frame, data, name)
    columns = _feature_columns(frame, data, name, notes, time_column)
    if target is not None:
        missing_target = int(frame[target].isna().sum())
        if missing_target:
            notes.append(f"dropped {missing_target} rows without a {target!r} value")
            frame = frame[frame[target].notna()]
    if len(frame) < data.min_rows:
        raise InvalidInput(
            f"{name} has {len(frame)} usable rows, fewer than data.min_rows = {data.min_rows}"
        )
    features = frame[columns].reset_index(drop=True)
    _check_missing(features, data.max_missing)
    labels = None if target is None else frame[target].reset_index(drop=True)
    if task == "classification" and labels is not None and labels.nunique() < 2:
        raise InvalidInput(f"data.target = {target!r} has a single class; nothing to classify")
    if champion_schema is not None:
        notes.extend(compare_schema(features, champion_schema, allow_schema_change))
    times = None if not time_column else read_times(frame, time_column, name)
    return TrainingData(name, features, labels, tuple(notes), times)


def read_times(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """``evaluation.time_column`` as numbers or UTC timestamps, one per row, none missing."""
    if column not in frame.columns:
        raise InvalidInput(
            f"evaluation.time_column = {column!r} is not a column of {name} "
            f"(columns: {_listing(frame.columns)})"
        )
    values = frame[column].reset_index(drop=True)
    try:
        times = as_times(values)
    except (TypeError, ValueError) as error:
        raise InvalidInput(
            f"evaluation.time_column = {column!r}: cannot read its values as times: {error}"
        ) from None
    missing = int(times.isna().sum())
    if missing:
        raise InvalidInput(f"evaluation.time_column = {column!r} has {missing} rows without a time")
    return times


def as_times(values: pd.Series) -> pd.Series:
    """Numbers stay numbers (epochs, sequence ids); anything else is parsed as UTC timestamps."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    return pd.Series(pd.to_datetime(values, utc=True), index=values.index)


def _target(frame: pd.DataFrame, data: DataSection, name: str) -> str | None:
    if not data.target:
        return None
    if data.target not in frame.columns:
        raise InvalidInput(
            f"data.target = {data.target!r} is not a column of {name} "
            f"(columns: {_listing(frame.columns)})"
        )
    return data.target


def _feature_columns(
    frame: pd.DataFrame, data: DataSection, name: str, notes: list[str], time_column: str
) -> list[str]:
    present = list(frame.columns)
    unknown_ignored = [column for column in data.ignore if column not in present]
    if unknown_ignored:
        notes.append(f"data.ignore lists columns that are not in the data: {unknown_ignored}")
    if data.features:
        absent = [column for column in data.features if column not in present]
        if absent:
            raise InvalidInput(f"data.features: columns {absent} are not in {name}")
        if data.target in data.features:
            raise InvalidInput(f"data.features lists the target {data.target!r}")
        return list(data.features)
    excluded = {data.target, time_column, *data.ignore}
    columns = [column for column in present if column not in excluded]
    if not columns:
        raise InvalidInput(f"{name} has no feature columns besides the target and data.ignore")
    return columns


def _check_missing(features: pd.DataFrame, limit: float) -> None:
    rates = features.isna().mean()
    over = rates[rates > limit]
    if not over.empty:
        shown = {str(column): round(float(rate), 3) for column, rate in over.items()}
        raise InvalidInput(
            f"missing rates {shown} exceed data.max_missing = {limit}: fix the source, "
            "list the columns in data.ignore, or raise data.max_missing"
        )


def compare_schema(features: pd.DataFrame, schema: dict[str, Any], allow_change: bool) -> list[str]:
    """Notes on how the data differs from the champion's inputs; missing inputs are an error."""
    if schema.get("type") != "dataframe":
        return ["the champion takes arrays, not named columns: its schema was not compared"]
    expected = {column["name"]: column["dtype"] for column in schema["columns"]}
    present = {str(column): str(dtype) for column, dtype in features.dtypes.items()}
    missing = [column for column in expected if column not in present]
    notes = []
    if missing:
        message = f"the data lacks columns the champion uses: {missing}"
        if not allow_change:
            raise InvalidInput(
                f"{message}; restore them, or train with --force to replace the champion"
            )
        notes.append(message)
    added = [column for column in present if column not in expected]
    if added:
        notes.append(f"new columns since the champion: {added}")
    changed = {
        column: f"{expected[column]} -> {dtype}"
        for column, dtype in present.items()
        if column in expected and expected[column] != dtype
    }
    if changed:
        notes.append(f"dtypes changed since the champion: {changed}")
    return notes


def _listing(columns: Any, limit: int = 8) -> str:
    """The first few column names, for messages that must stay on one line."""
    names = [str(column) for column in columns]
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
