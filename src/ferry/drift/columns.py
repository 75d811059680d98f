"""Which columns are compared, and as what: numeric, categorical or timestamp.

The dtype decides first (strings, booleans and pandas categoricals are categorical; dates are
timestamps, which are listed but never tested, because time always moves on). A numeric column
with only a few distinct values is re-typed as categorical later, once its values are sorted
(see :mod:`ferry.drift.profile`), so the frame is not scanned twice. Users override any of this
with the ``categorical``, ``numeric`` and ``ignore`` lists.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import InvalidInput
from ferry.frames import as_frame

ColumnKind = Literal["numeric", "categorical", "timestamp"]


@dataclass(frozen=True)
class Column:
    """One column of the reference: its name in reports, its label in the frame, its kind.

    ``forced`` is true when the user chose the kind, so cardinality does not re-type it.
    """

    name: str
    label: Hashable
    kind: ColumnKind
    forced: bool = False


def check_frame(data: object, role: str) -> pd.DataFrame:
    """``data`` (pandas, polars or numpy) as a non-empty DataFrame with unique column names."""
    frame = as_frame(data, role)
    if len(frame) == 0:
        raise InvalidInput(f"the {role} data has no rows: drift needs at least one row")
    if frame.shape[1] == 0:
        raise InvalidInput(f"the {role} data has no columns")
    names = [str(label) for label in frame.columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"the {role} data has duplicate column names: {duplicates}")
    return frame


def plan_columns(
    frame: pd.DataFrame,
    *,
    categorical: Sequence[str],
    numeric: Sequence[str],
    ignore: Sequence[str],
) -> list[Column]:
    """Type every column of the reference that is not ignored."""
    labels = {str(label): label for label in frame.columns}
    _check_known(labels, categorical, "categorical")
    _check_known(labels, numeric, "numeric")
    _check_known(labels, ignore, "ignore")
    both = sorted(set(categorical) & set(numeric))
    if both:
        raise InvalidInput(f"columns {both} are listed as both categorical and numeric")
    columns = []
    for name, label in labels.items():
        if name in ignore:
            continue
        if name in categorical:
            columns.append(Column(name, label, "categorical", forced=True))
        elif name in numeric:
            if not is_numeric(frame[label]):
                raise InvalidInput(
                    f"column {name!r} is listed as numeric but has dtype {frame[label].dtype}"
                )
            columns.append(Column(name, label, "numeric", forced=True))
        else:
            columns.append(Column(name, label, _kind_of(frame[label])))
    if not any(column.kind != "timestamp" for column in columns):
        raise InvalidInput("no column is left to compare: check the ignore list")
    return columns


def _check_known(labels: Iterable[str], given: Sequence[str], option: str) -> None:
    if isinstance(given, str):
        raise InvalidInput(f"{option} must be a list of column names, not the string {given!r}")
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise InvalidInput(f"{option} names columns the reference does not have: {unknown}")


def _kind_of(series: pd.Series) -> ColumnKind:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "timestamp"
    if is_numeric(series):
        return "numeric"
    return "categorical"


def is_numeric(series: pd.Series) -> bool:
    """True for integer and float dtypes (nullable ones too), false for booleans."""
    dtype = series.dtype
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def numeric_values(series: pd.Series, name: str) -> NDArray[np.float64]:
    """The column as float64 with NaN for missing; a non-numeric column is a named error."""
    if is_numeric(series) or pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if series.dtype == object:
        try:
            parsed = pd.to_numeric(series, errors="raise")
        except (TypeError, ValueError):
            pass
        else:
            return parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    example = series.dropna().head(1).tolist()
    shown = f" (e.g. {example[0]!r})" if example else ""
    raise InvalidInput(
        f"column {name!r} is numeric in the reference but has dtype {series.dtype} in the "
        f"current data{shown}: convert it, or list the column in ignore"
    )
