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


def test_register_without_example_uses_what_the_model_declares(sqlite_registry, cancer):
    from sklearn.tree import DecisionTreeClassifier

    X, y = cancer
    named = DecisionTreeClassifier(max_depth=2).fit(X, y)
    bare = DecisionTreeClassifier(max_depth=2).fit(X.to_numpy(), y)

    created = sqlite_registry.register(named, "named")
    unnamed = sqlite_registry.register(bare, "bare", tags={"team": "a"})

    columns = created.metadata["input_schema"]["columns"]
    assert [c["name"] for c in columns] == list(X.columns)
    assert created.metadata["tags"] == {
        "ferry.input_example": "synthesized",
        "ferry.input_schema": "feature_names_in_",
    }
    assert unnamed.metadata["input_schema"] == {
        "type": "tensor",
        "dtype": "float64",
        "shape": [-1, 30],
    }
    assert unnamed.metadata["tags"]["ferry.input_schema"] == "n_features_in_"
    assert unnamed.metadata["tags"]["team"] == "a"


def test_register_without_example_of_an_onnx_graph(sqlite_registry, cancer):
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    X, y = cancer
    graph = to_onnx(LinearRegression().fit(X.to_numpy(), y), X.to_numpy()[:1].astype(np.float32))

    created = sqlite_registry.register(graph, "graph")

    assert created.metadata["input_shape"] == [-1, 30]
    assert created.metadata["tags"]["ferry.input_schema"] == "onnx input"


def test_a_model_declaring_nothing_needs_an_example(sqlite_registry):
    from sklearn.dummy import DummyClassifier

    with pytest.raises(InvalidInput, match="input_example="):
        sqlite_registry.register(DummyClassifier(), "dummy")
