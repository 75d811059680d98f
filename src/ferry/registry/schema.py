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
from ferry.frames import to_pandas

TEXT_COLUMN = "text"
"""The column name of an unnamed text input (a list of strings or a Series without a name)."""
EXAMPLE_ROWS = 10
"""Rows of the input example kept with a version: enough to warm a server up, small on disk."""


def as_example(data: Any) -> pd.DataFrame | np.ndarray:
    """Accept a pandas or polars frame, an array, nested lists or texts; refuse anything
    empty or scalar."""
    data = to_pandas(data)
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


def example_from_model(model: Any) -> tuple[pd.DataFrame | np.ndarray, str]:
    """One zero row built from what a fitted model declares, and what that was.

    ``feature_names_in_`` gives named float columns, ``n_features_in_`` (or an ONNX graph's
    single input) a float array of that width; a model declaring neither needs an example.
    """
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return pd.DataFrame([[0.0] * len(names)], columns=[str(n) for n in names]), (
            "feature_names_in_"
        )
    width = getattr(model, "n_features_in_", None)
    if width:
        return np.zeros((1, int(width)), dtype=np.float64), "n_features_in_"
    width = _onnx_width(model)
    if width:
        return np.zeros((1, width), dtype=np.float32), "onnx input"
    raise InvalidInput(
        f"cannot tell the inputs of this {type(model).__name__}: it declares no "
        "feature_names_in_ or n_features_in_; give a few rows of training data as its input "
        "example (input_example= in Python, --input-example FILE on the command line)"
    )


def _onnx_width(model: Any) -> int | None:
    """The feature count of a single-input ONNX graph with a fixed second dimension."""
    graph = getattr(model, "graph", None)
    if graph is None or len(graph.input) != 1:
        return None
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) == 2 and dims[1].dim_value > 0:
        return int(dims[1].dim_value)
    return None


def conform(inputs: Any, schema: dict[str, Any]) -> Any:
    """Inputs as the model was registered to take them: polars becomes pandas, and a bare
    array given to a model of named columns gets those names (so none are lost or
    misaligned, and scikit-learn does not warn about missing feature names)."""
    inputs = to_pandas(inputs)
    if schema.get("type") != "dataframe" or schema.get("series"):
        return inputs
    if not isinstance(inputs, np.ndarray):
        return inputs
    names = [column["name"] for column in schema["columns"]]
    if inputs.ndim != 2 or inputs.shape[1] != len(names):
        raise InvalidInput(
            f"inputs have shape {inputs.shape}; this model takes {len(names)} columns {names}"
        )
    return pd.DataFrame(inputs, columns=names)


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
