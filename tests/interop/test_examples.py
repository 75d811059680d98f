"""MLflow input examples in every orient and envelope read to the same frame."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ferry import InvalidInput
from ferry.interop.examples import decode_example

FRAME = pd.DataFrame({"b": [1.5, 2.5], "a": [3.0, 4.0]})


def _as(orient: str) -> Any:
    return json.loads(FRAME.to_json(orient=orient))  # type: ignore[call-overload]


@pytest.mark.parametrize("orient", ["split", "records", "columns", "index", "table"])
def test_every_pandas_orient_keeps_names_and_order(orient: str) -> None:
    decoded = decode_example(_as(orient), orient)

    assert isinstance(decoded, pd.DataFrame)
    assert list(decoded.columns) == ["b", "a"]
    np.testing.assert_array_equal(decoded.to_numpy(), FRAME.to_numpy())


@pytest.mark.parametrize("orient", ["split", "records", "columns", "table"])
def test_the_orient_is_guessed_when_not_recorded(orient: str) -> None:
    decoded = decode_example(_as(orient))

    assert isinstance(decoded, pd.DataFrame)
    assert list(decoded.columns) == ["b", "a"]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["b", "a"], "data": [[1.5, 3.0], [2.5, 4.0]]}},
        {"dataframe_records": [{"b": 1.5, "a": 3.0}, {"b": 2.5, "a": 4.0}]},
        {"inputs": {"b": [1.5, 2.5], "a": [3.0, 4.0]}},
        {"instances": [{"b": 1.5, "a": 3.0}, {"b": 2.5, "a": 4.0}]},
    ],
)
def test_scoring_envelopes_are_unwrapped(payload: dict[str, Any]) -> None:
    decoded = decode_example(payload)

    assert isinstance(decoded, pd.DataFrame)
    assert list(decoded.columns) == ["b", "a"]
    assert decoded.shape == (2, 2)


def test_arrays_stay_arrays() -> None:
    assert decode_example([[1.0, 2.0], [3.0, 4.0]], "values").shape == (2, 2)
    assert decode_example({"instances": [1.0, 2.0]}).shape == (1, 2)
    assert decode_example({"data": [[1, 2]]}, "split").shape == (1, 2)


@pytest.mark.parametrize(
    ("payload", "orient", "message"),
    [
        ({"columns": ["a"]}, "split", "'data'"),
        ({"data": [[1]], "extra": 1}, "split", "unknown keys"),
        ([1, 2], "records", "list of objects"),
        ("text", None, "not an MLflow example"),
        ([["a", "b"]], "values", "hold numbers"),
        ({"data": [[1]]}, "sideways", "unknown pandas orient"),
    ],
)
def test_bad_examples_are_named(payload: Any, orient: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_example(payload, orient)
