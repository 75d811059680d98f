from __future__ import annotations

import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def onnx_classifier(cancer):
    X, y = cancer
    features = X.to_numpy(dtype=np.float32)
    model = LogisticRegression(max_iter=3000).fit(features, y)
    return model, to_onnx(model, features[:1], options={"zipmap": False}), features


def test_onnx_model_registers_and_predicts_like_sklearn(sqlite_registry, onnx_classifier):
    model, proto, features = onnx_classifier
    version = sqlite_registry.register(proto, "cancer-onnx", input_example=features[:5])
    meta = version.metadata
    assert (meta["flavor"], meta["framework"]) == ("onnx", "onnx")
    assert {"onnx", "onnxruntime"} <= meta["dependencies"].keys()
    assert meta["input_schema"] == {"type": "tensor", "dtype": "float32", "shape": [-1, 30]}
    loaded = sqlite_registry.load("cancer-onnx")
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))
    np.testing.assert_allclose(
        loaded.predict_proba(features), model.predict_proba(features), atol=1e-4
    )


def test_zipmap_probabilities_are_unpacked(sqlite_registry, onnx_classifier):
    model, _, features = onnx_classifier
    proto = to_onnx(model, features[:1])
    sqlite_registry.register(proto, "zipped", input_example=features[:2])
    probabilities = sqlite_registry.load("zipped").predict_proba(features[:4])
    np.testing.assert_allclose(probabilities, model.predict_proba(features[:4]), atol=1e-4)
