"""An MLflow signature orders and types ferry's input example."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferry import InvalidInput
from ferry.interop.signature import apply_signature, example_from_signature, parse_inputs

COLUMNS = json.dumps(
    [
        {"type": "double", "name": "x", "required": True},
        {"type": "long", "name": "n", "required": True},
        {"type": "string", "name": "city", "required": True},
    ]
)
TENSOR = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}])


def test_columns_take_the_signature_order_and_types() -> None:
    example = pd.DataFrame({"city": ["a"], "n": [1.0], "x": [2]})

    typed = apply_signature(example, parse_inputs(COLUMNS))

    assert isinstance(typed, pd.DataFrame)
    assert list(typed.columns) == ["x", "n", "city"]
    assert [str(t) for t in typed.dtypes[:2]] == ["float64", "int64"]


def test_a_missing_column_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"\['city'\]"):
        apply_signature(pd.DataFrame({"x": [1.0], "n": [1]}), parse_inputs(COLUMNS))


def test_a_tensor_signature_types_the_array() -> None:
    typed = apply_signature(np.ones((2, 3)), parse_inputs(TENSOR))

    assert isinstance(typed, np.ndarray)
    assert typed.dtype == np.float32


def test_examples_built_from_signatures() -> None:
    frame = example_from_signature(parse_inputs(COLUMNS))
    tensor = example_from_signature(parse_inputs(TENSOR))

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["x", "n", "city"]
    assert isinstance(tensor, np.ndarray)
    assert tensor.shape == (1, 3)
    assert example_from_signature([]) is None


def test_malformed_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not a list"):
        parse_inputs('{"type": "double"}')
