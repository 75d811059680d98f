"""Input schemas and input examples: what a version takes, inferred from an example.

A schema is plain JSON so it can sit in ``metadata.json`` and be compared across versions:
``{"type": "dataframe", "columns": [{"name", "dtype"}]}`` or
``{"type": "tensor", "dtype": ..., "shape": [-1, ...]}``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput
from ferry.flavors.base import Description
from ferry.flavors.tasks import Outputs

TEXT_COLUMN = "text"
"""The column name of an unnamed text input (a list of strings or a Series without a name)."""
EXAMPLE_ROWS = 10
"""Rows of the input example kept with a version: enough to warm a server up, small on disk."""


def as_example(data: Any) -> pd.DataFrame | np.ndarray:
    """Accept a DataFrame, an array or nested lists; refuse anything empty or scalar."""
    if is_text_series(data) and not isinstance(data, pd.Series):
        data = pd.Series(list(data), name=TEXT_COLUMN)
    if isinstance(data, pd.Series):
        data = data.to_frame(name=TEXT_COLUMN if data.name is None else str(data.name))
    if not isinstance(data, pd.DataFrame):
        try:
            data = np.asarray(data)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"input_example is not array-like: {error}") from None
        if data.ndim == 0 or data.dtype == object:
            raise InvalidInput(
                "input_example must be a DataFrame or a numeric array with one row per sample"
            )
        if data.ndim == 1:
            data = data.reshape(1, -1)
    if data.size == 0 if isinstance(data, np.ndarray) else data.empty:
        raise InvalidInput("input_example is empty: give at least one row")
    return data[:EXAMPLE_ROWS] if isinstance(data, np.ndarray) else data.head(EXAMPLE_ROWS)


def schema_of(example: pd.DataFrame | np.ndarray) -> dict[str, Any]:
    """The input schema an example implies."""
    if isinstance(example, pd.DataFrame):
        return {
            "type": "dataframe",
            "columns": [
                {"name": str(name), "dtype": str(dtype)} for name, dtype in example.dtypes.items()
            ],
        }
    return {"type": "tensor", "dtype": str(example.dtype), "shape": [-1, *example.shape[1:]]}


def shape_of(schema: dict[str, Any]) -> list[int]:
    """The input shape, ``-1`` standing for the number of rows."""
    if schema["type"] == "dataframe":
        return [-1, len(schema["columns"])]
    return list(schema["shape"])


def output_schema_of(description: Description, outputs: Outputs) -> dict[str, Any]:
    """What a version answers: its task, the names of its outputs, task facts (``classes``,
    ``n_clusters``, ``width``), and the dtype and shape of its first output on the example."""
    first = next(iter(outputs.named().values()))
    schema: dict[str, Any] = {
        "task": description.task,
        "outputs": list(description.outputs),
        "dtype": str(first.dtype),
        "shape": [-1, *first.shape[1:]],
        "probabilities": outputs.probabilities is not None,
        **description.facts,
    }
    return schema


def is_text_series(data: Any) -> bool:
    """True for a Series, or a flat list or array of strings: one text per row."""
    if isinstance(data, pd.Series):
        return True
    if isinstance(data, list | tuple | np.ndarray) and len(data) > 0:
        flat = np.asarray(data, dtype=object)
        return flat.ndim == 1 and all(isinstance(value, str) for value in flat)
    return False


def encode_example(example: pd.DataFrame | np.ndarray) -> bytes:
    """JSON bytes for ``input_example.json``; NaN becomes null."""
    if isinstance(example, pd.DataFrame):
        payload = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
    else:
        frame = pd.DataFrame(example.reshape(len(example), -1))
        rows = json.loads(frame.to_json(orient="values"))
        payload = {"data": np.asarray(rows, dtype=object).reshape(example.shape).tolist()}
    return json.dumps(payload, sort_keys=True).encode()


def decode_example(data: bytes, schema: dict[str, Any]) -> pd.DataFrame | np.ndarray:
    """Rebuild the stored example with the dtypes its schema records."""
    payload = json.loads(data)
    if schema["type"] == "dataframe":
        frame = pd.DataFrame(payload["data"], columns=payload["columns"])
        dtypes = {column["name"]: column["dtype"] for column in schema["columns"]}
        return frame.astype(dtypes)
    rows = [[np.nan if value is None else value for value in row] for row in payload["data"]]
    return np.asarray(rows, dtype=schema["dtype"])
