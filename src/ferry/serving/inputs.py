"""Turn request rows or records into the array a model takes, naming every bad field.

A version's input schema says which features, in which order, of which kinds. Validation is
vectorised for the common case (numbers all the way down) and falls back to a cell-by-cell scan
only to explain what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np

from ferry.errors import InvalidInput

_NUMERIC_KINDS = "biuf"
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Numbers beyond this become infinite in the float32 graphs ONNX serves, so they are refused."""


@dataclass(frozen=True)
class InputSpec:
    """The features a version takes: names (None for a bare tensor), width and kinds."""

    names: tuple[str, ...] | None
    width: int
    numeric: tuple[bool, ...]
    dtype: str
    series: bool = False
    """True for a text model: its one column goes to the model as a Series, one string a row."""

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any]) -> InputSpec:
        """Build from ``metadata["input_schema"]``."""
        if schema["type"] == "dataframe":
            columns = schema["columns"]
            numeric = tuple(
                np.dtype(_numpy_dtype(c["dtype"])).kind in _NUMERIC_KINDS for c in columns
            )
            names = tuple(c["name"] for c in columns)
            return cls(names, len(columns), numeric, "float64", bool(schema.get("series")))
        shape = schema["shape"]
        width = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        is_numeric = np.dtype(schema["dtype"]).kind in _NUMERIC_KINDS
        return cls(None, width, (is_numeric,) * width, schema["dtype"])

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        """The feature names, or ``x0, x1, ...`` for a bare tensor (prediction-log columns)."""
        return self.names or tuple(f"x{i}" for i in range(self.width))

    @property
    def all_numeric(self) -> bool:
        """True when every feature is a number (the ONNX-compilable case)."""
        return all(self.numeric)

    def rows(self, rows: Any, field: str = "rows") -> np.ndarray:
        """Validate a list of rows (lists of values in schema order) sent as ``field``."""
        _expect_batch(rows, field, f"rows (lists of {self.width} values)")
        for index, row in enumerate(rows):
            if not isinstance(row, list):
                raise InvalidInput(
                    f"row {index} must be a list of {self.width} values, got {_kind(row)}"
                )
            if len(row) != self.width:
                raise InvalidInput(
                    f"row {index} has {len(row)} values; this model takes {self.width}"
                )
        return self._to_array(rows)

    def records(self, records: Any, field: str = "records") -> np.ndarray:
        """Validate a list of ``{feature: value}`` records sent as ``field``."""
        if self.names is None:
            raise InvalidInput("this model takes unnamed tensors: send rows, not records")
        _expect_batch(records, field, "records ({feature: value} objects)")
        expected = set(self.names)
        rows = []
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise InvalidInput(f"record {index} must be an object of feature: value")
            if record.keys() != expected:
                _explain_keys(index, record, self.names)
            rows.append([record[name] for name in self.names])
        return self._to_array(rows)

    def columns(
        self, columns: Any, rows: Any, field: str = "data", header: str = "columns"
    ) -> np.ndarray:
        """Validate a split frame: feature names sent as ``header``, rows as ``field``."""
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise InvalidInput(f"{_named(header)} must be a list of feature names")
        repeated = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
        if repeated is not None:
            raise InvalidInput(f"{_named(header)} names {repeated!r} twice; name each feature once")
        if not isinstance(rows, list):
            raise InvalidInput(f"{_named(field)} must be a list of rows, got {_kind(rows)}")
        if self.names is None or columns == list(self.names):
            return self.rows(rows, field)
        for index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(columns):
                raise InvalidInput(
                    f"row {index} does not have one value per column ({len(columns)})"
                )
        return self.records([dict(zip(columns, row, strict=True)) for row in rows], field)

    def _to_array(self, rows: list[list[Any]]) -> np.ndarray:
        if self.all_numeric and not _has_text_or_flags(rows):
            try:
                array = np.array(rows, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                array = None
            if (
                array is not None
                and array.ndim == 2  # a list in every cell would add a third axis
                and np.isfinite(array).all()
                and (np.abs(array) <= FLOAT32_MAX).all()
            ):
                return array
        self._explain_cells(rows)
        array = np.empty((len(rows), self.width), dtype=object)
        array[:] = rows  # never a third axis: every cell was checked to be a scalar
        return array

    def _explain_cells(self, rows: list[list[Any]]) -> None:
        """Raise naming the first bad cell; return when every cell is acceptable."""
        for index, row in enumerate(rows):
            for position, value in enumerate(row):
                feature = self._feature(position)
                if value is None:
                    raise InvalidInput(f"{feature} in row {index} is null; a value is needed")
                if self.numeric[position] and not _is_number(value):
                    raise InvalidInput(f"{feature} in row {index} must be a number, got {value!r}")
                if not self.numeric[position] and not isinstance(value, str | int | float | bool):
                    raise InvalidInput(f"{feature} in row {index} must be a scalar, got {value!r}")
                if self.numeric[position] and not abs(float(value)) <= FLOAT32_MAX:
                    raise InvalidInput(
                        f"{feature} in row {index} is {value!r}; a finite number within "
                        "float32 range is needed"
                    )

    def _feature(self, position: int) -> str:
        return f"feature {self.names[position]!r}" if self.names else f"value {position}"


def _has_text_or_flags(rows: list[list[Any]]) -> bool:
    """True when a cell is a string or a boolean, which numpy would silently turn into a number.

    The cells' types are gathered by ``map`` and ``set`` in C: a Python-level test per cell
    cost the event loop about 1 ms for 100 rows of 64 features (8x this)."""
    kinds = set(map(type, chain.from_iterable(rows)))
    return str in kinds or bool in kinds


def _expect_batch(batch: Any, field: str, what: str) -> None:
    """``batch`` is a non-empty list; otherwise say which field is wrong and how."""
    if not isinstance(batch, list):
        hint = ": wrap one in a list, [...]" if isinstance(batch, dict) else ""
        raise InvalidInput(f"{_named(field)} must be a list of {what}, got {_kind(batch)}{hint}")
    if not batch:
        raise InvalidInput(f"the batch is empty: {_named(field)} needs at least one row")


def _named(field: str) -> str:
    """A field name quoted, or a description (``the CSV body``) as it is."""
    return field if " " in field else repr(field)


def _kind(value: Any) -> str:
    """A JSON value's kind, as a client would name it."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number" if _is_number(value) else type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _explain_keys(index: int, record: Mapping[str, Any], names: Sequence[str]) -> None:
    missing = [name for name in names if name not in record]
    unknown = [key for key in record if key not in set(names)]
    if missing:
        raise InvalidInput(f"record {index} is missing feature {missing[0]!r}")
    raise InvalidInput(f"record {index} has unknown feature {unknown[0]!r}")


def _numpy_dtype(dtype: str) -> str:
    """pandas extension dtypes (``string``, ``category``, ``Int64``) as their numpy kind."""
    lowered = dtype.lower()
    if lowered in ("string", "str", "category", "object") or lowered.startswith("string"):
        return "object"
    if lowered.startswith(("int", "uint")):
        return "int64"
    if lowered == "boolean":
        return "bool"
    return dtype
