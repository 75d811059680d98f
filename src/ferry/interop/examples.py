"""MLflow's JSON input examples, in every pandas orient and serving envelope, as frames or arrays.

MLflow writes an example with the orient recorded in its MLmodel (``split`` today, ``records``
in older releases), and its scoring server takes ``dataframe_split``, ``dataframe_records``,
``instances`` and ``inputs`` envelopes. A user brings any of these; ferry reads them all the
same way, keeping column names and order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput

ORIENTS = ("split", "records", "columns", "index", "values", "table")
"""The pandas orients :func:`decode_example` reads."""

_ENVELOPES = {"dataframe_split": "split", "dataframe_records": "records"}
_TENSOR_ENVELOPES = ("instances", "inputs")


def decode_example(payload: Any, orient: str | None = None) -> pd.DataFrame | np.ndarray:
    """A frame (named columns) or an array from an example's parsed JSON.

    ``orient`` comes from MLflow's ``saved_input_example_info``; without it the shape of the
    payload tells (a dict with ``data`` is split, a list of objects is records ...).
    """
    if orient is not None and orient not in ORIENTS:
        raise InvalidInput(f"unknown pandas orient {orient!r}; ferry reads {list(ORIENTS)}")
    if isinstance(payload, dict) and len(payload) == 1:
        ((key, inner),) = payload.items()
        if key in _ENVELOPES:
            return decode_example(inner, _ENVELOPES[key])
        if key in _TENSOR_ENVELOPES:
            return _from_tensor_envelope(inner)
    return _frame(payload, orient or _guess_orient(payload))


def _guess_orient(payload: Any) -> str:
    """The orient a payload's shape implies; ``columns`` for a dict of per-column dicts."""
    if isinstance(payload, dict):
        if "schema" in payload and "data" in payload:
            return "table"
        if "data" in payload:
            return "split"
        if payload and all(isinstance(value, dict) for value in payload.values()):
            return "columns"
    if isinstance(payload, list) and payload:
        return "records" if all(isinstance(row, dict) for row in payload) else "values"
    raise InvalidInput(
        "the input example is not an MLflow example: expected split ({'columns', 'data'}), "
        "records ([{column: value}]), an array, or a dataframe_split/dataframe_records/"
        "instances/inputs envelope"
    )


def _frame(payload: Any, orient: str) -> pd.DataFrame | np.ndarray:
    try:
        if orient == "split":
            return _split(payload)
        if orient == "records":
            return pd.DataFrame.from_records(_list_of(payload, dict, orient))
        if orient == "columns":
            return pd.DataFrame.from_dict(_dict_of(payload, orient), orient="columns")
        if orient == "index":
            return pd.DataFrame.from_dict(_dict_of(payload, orient), orient="index")
        if orient == "table":
            return _table(payload)
        return _array(payload)
    except (TypeError, ValueError, KeyError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise InvalidInput(f"the input example is not valid {orient!r} JSON: {error}") from None


def _split(payload: Any) -> pd.DataFrame | np.ndarray:
    data = _dict_of(payload, "split")
    if "data" not in data:
        raise InvalidInput("a split-orient input example needs a 'data' list")
    unknown = set(data) - {"columns", "data", "index"}
    if unknown:
        raise InvalidInput(f"a split-orient input example has unknown keys {sorted(unknown)}")
    if "columns" not in data:
        return _array(data["data"])
    return pd.DataFrame(data["data"], columns=[str(name) for name in data["columns"]])


def _table(payload: Any) -> pd.DataFrame:
    data = _dict_of(payload, "table")
    keys = data.get("schema", {}).get("primaryKey", [])
    frame = pd.DataFrame.from_records(_list_of(data.get("data"), dict, "table"))
    return frame.drop(columns=[key for key in keys if key in frame.columns])


def _from_tensor_envelope(inner: Any) -> pd.DataFrame | np.ndarray:
    """``instances``/``inputs``: rows of values, rows of objects, or a dict of columns."""
    if isinstance(inner, dict):
        return pd.DataFrame({str(name): list(values) for name, values in inner.items()})
    if isinstance(inner, list) and inner and all(isinstance(row, dict) for row in inner):
        return pd.DataFrame.from_records(inner)
    return _array(inner)


def _array(payload: Any) -> np.ndarray:
    array = np.asarray(payload)
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        raise InvalidInput("an array input example must hold numbers, one row per sample")
    return array.reshape(1, -1) if array.ndim == 1 else array


def _dict_of(payload: Any, orient: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput(f"a {orient}-orient input example must be a JSON object")
    return payload


def _list_of(payload: Any, kind: type, orient: str) -> list[Any]:
    if not isinstance(payload, list) or not all(isinstance(row, kind) for row in payload):
        raise InvalidInput(f"a {orient}-orient input example must be a list of objects")
    return payload
