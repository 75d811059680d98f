from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry import InvalidInput
from ferry.registry.schema import as_example, decode_example, encode_example, schema_of, shape_of


def test_frames_keep_names_dtypes_and_nulls():
    frame = pd.DataFrame({"age": [31.5, np.nan], "plan": ["a", "b"], "n": [1, 2]})
    schema = schema_of(as_example(frame))
    assert schema["columns"] == [
        {"name": "age", "dtype": "float64"}, {"name": "plan", "dtype": frame["plan"].dtype.name},
        {"name": "n", "dtype": "int64"},
    ]  # fmt: skip
    assert shape_of(schema) == [-1, 3]
    decoded = decode_example(encode_example(frame), schema)
    pd.testing.assert_frame_equal(decoded, frame)


def test_arrays_keep_shape_and_dtype():
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    schema = schema_of(as_example(array))
    assert schema == {"type": "tensor", "dtype": "float32", "shape": [-1, 4]}
    np.testing.assert_array_equal(decode_example(encode_example(array), schema), array)


def test_one_dimensional_input_is_one_row_and_examples_are_capped():
    assert as_example([1.0, 2.0]).shape == (1, 2)
    assert len(as_example(np.zeros((50, 2)))) == 10


@pytest.mark.parametrize("bad", [[], 3.0, pd.DataFrame(), [[{"a": 1}]]])
def test_empty_or_scalar_examples_are_refused(bad):
    with pytest.raises(InvalidInput, match="input_example"):
        as_example(bad)
