from __future__ import annotations

import numpy as np
import pytest

from ferry import InvalidInput
from ferry.serving.inputs import InputSpec

FRAME = {
    "type": "dataframe",
    "columns": [{"name": "age", "dtype": "float64"}, {"name": "plan", "dtype": "object"}],
}
NUMERIC = {
    "type": "dataframe",
    "columns": [{"name": "a", "dtype": "float64"}, {"name": "b", "dtype": "int64"}],
}


def test_numeric_rows_become_a_float_array():
    spec = InputSpec.from_schema(NUMERIC)
    assert spec.all_numeric and spec.width == 2
    array = spec.records([{"b": 2, "a": 1.5}])
    assert array.dtype == np.float64 and array.tolist() == [[1.5, 2.0]]


def test_mixed_rows_keep_strings():
    spec = InputSpec.from_schema(FRAME)
    assert not spec.all_numeric
    assert spec.rows([[31.0, "gold"]]).tolist() == [[31.0, "gold"]]
    with pytest.raises(InvalidInput, match="feature 'age' in row 0 must be a number, got 'old'"):
        spec.rows([["old", "gold"]])


def test_tensor_schemas_take_rows_only():
    spec = InputSpec.from_schema({"type": "tensor", "dtype": "float32", "shape": [-1, 3]})
    assert spec.rows([[1, 2, 3]]).shape == (1, 3)
    with pytest.raises(InvalidInput, match="unnamed tensors"):
        spec.records([{"a": 1}])
    with pytest.raises(InvalidInput, match="value 2 in row 0 is null"):
        spec.rows([[1, 2, None]])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1.0, float("nan")]], "feature .b. in row 0 is nan; a finite number"),
        ([[1.0, True]], "feature .b. in row 0 must be a number, got True"),
        ([[1.0, "2.5"]], "feature .b. in row 0 must be a number, got .2.5."),
        ([[1.0, 1e300]], "within float32 range"),
        ([[1.0]], "row 0 has 1 values; this model takes 2"),
        ([1.0, 2.0], "row 0 must be a list of 2 values, got a number"),
        ([[[1.0], [2.0]]], r"feature .a. in row 0 must be a number, got \[1.0\]"),
        ("rows", r"'rows' must be a list of rows \(lists of 2 values\), got a string"),
        ([], "the batch is empty: 'rows' needs at least one row"),
    ],
)
def test_bad_rows_name_the_cell(rows, message):
    with pytest.raises(InvalidInput, match=message):
        InputSpec.from_schema(NUMERIC).rows(rows)
