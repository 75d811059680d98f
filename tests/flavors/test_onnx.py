from __future__ import annotations

import httpx
import jsonschema
import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from ferry.config import ServingSettings
from ferry.errors import Unsupported
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer


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


def _with_output(proto, node, name, elem_type, shape):
    """``proto`` with ``node`` added and its output ``name`` declared as a graph output."""
    import onnx

    graph = onnx.ModelProto()
    graph.CopyFrom(proto)
    graph.graph.node.append(node)
    graph.graph.output.append(onnx.helper.make_tensor_value_info(name, elem_type, shape))
    onnx.checker.check_model(graph)
    return graph


def _top_class(proto):
    import onnx

    node = onnx.helper.make_node("ArgMax", ["probabilities"], ["top_class"], axis=1, keepdims=0)
    return _with_output(proto, node, "top_class", onnx.TensorProto.INT64, [None])


def test_an_output_that_is_not_one_row_per_row_is_refused(sqlite_registry, onnx_classifier):
    import onnx

    _, proto, features = onnx_classifier
    total = onnx.helper.make_node("ReduceSum", ["probabilities"], ["total"], keepdims=0)
    graph = _with_output(proto, total, "total", onnx.TensorProto.FLOAT, [])
    with pytest.raises(Unsupported, match=r"output 'total' has shape \[\], not one row per"):
        sqlite_registry.register(graph, "summed", input_example=features[:5])


def test_an_output_named_like_a_task_output_is_refused(sqlite_registry, onnx_classifier):
    import onnx

    _, proto, features = onnx_classifier
    copy = onnx.helper.make_node("Identity", ["probabilities"], ["confidence"])
    graph = _with_output(proto, copy, "confidence", onnx.TensorProto.FLOAT, [None, 2])
    with pytest.raises(Unsupported, match="output 'confidence' is not its classifier's"):
        sqlite_registry.register(graph, "clash", input_example=features[:5])


@pytest.mark.anyio
async def test_v2_answers_an_extra_output_asked_for_by_name(sqlite_registry, onnx_classifier):
    model, proto, features = onnx_classifier
    sqlite_registry.register(_top_class(proto), "tops", input_example=features[:5])
    settings = ServingSettings(models=("tops",), warmup_iterations=1, poll_interval=3600.0)
    server = ModelServer(settings, sqlite_registry)
    app = create_app(server)
    rows = features[:3]
    tensor = {"name": "input-0", "shape": [3, 30], "datatype": "FP32",
              "data": rows.ravel().tolist()}  # fmt: skip
    async with app.router.lifespan_context(app):
        await server.first_loads()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
            asked = {"inputs": [tensor], "outputs": [{"name": "top_class"}]}
            answer = (await client.post("/v2/models/tops/infer", json=asked)).json()
            unknown = {"inputs": [tensor], "outputs": [{"name": "margin"}]}
            refused = await client.post("/v2/models/tops/infer", json=unknown)
            described = (await client.get("/v2/models/tops")).json()
            document = (await client.get("/openapi.json")).json()
            plain = (await client.post("/predict", json={"rows": rows.tolist()})).json()
            mlflow = (await client.post("/invocations", json={"instances": rows.tolist()})).json()
    assert answer["outputs"] == [{
        "name": "top_class", "datatype": "INT64", "shape": [3],
        "data": model.predict_proba(rows).argmax(axis=1).tolist(),
    }]  # fmt: skip
    assert refused.status_code == 400 and "'margin'" in refused.json()["error"]
    assert {"name": "top_class", "datatype": "INT64", "shape": [-1]} in described["outputs"]
    tops = model.predict_proba(rows).argmax(axis=1).tolist()
    assert plain["named_outputs"] == {"top_class": tops} and mlflow["top_class"] == tops
    for name, body in (("PredictResponse", plain), ("InvocationResponse", mlflow)):
        schema = {"components": document["components"], "$ref": f"#/components/schemas/{name}"}
        jsonschema.Draft202012Validator(schema).validate(body)
