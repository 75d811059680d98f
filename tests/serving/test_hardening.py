"""Malformed requests that once reached a 500, and other edges found in review."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest

pytestmark = pytest.mark.anyio

ROW = [1.0] * 30


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 30], "datatype": [], "data": ROW}]},
            "unknown datatype",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [1000]}]},
            "a value is out of range for INT8",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [], "datatype": "FP32", "data": [1.0]}]},
            "non-empty list",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": 5, "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            "'name' must be a string",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "BOOL", "data": [True] * 30}]},
            "must be a number",
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": 5, "data": [ROW]}},
            "'columns' must be a list",
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": ["a"], "data": 5}},
            "'dataframe_split.data' must be a list of rows",
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": [[1]], "data": [[1]]}},
            "'columns' must be a list",
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": ["mean radius", "x"], "data": [[1.0]]}},
            "one value per column",
        ),
        ("/predict", {"rows": [[True, *ROW[1:]]]}, "must be a number, got True"),
        ("/predict", {"rows": [["1.5", *ROW[1:]]]}, "must be a number, got '1.5'"),
        ("/predict", {"rows": [[1e308, *ROW[1:]]]}, "within float32 range"),
    ],
)
async def test_malformed_requests_get_4xx_not_500(serve, path, body, message):
    async with serve() as (client, _server):
        response = await client.post(path, json=body)
        assert 400 <= response.status_code < 500, response.text
        assert message in response.text


async def test_admin_bodies_with_wrong_types_get_4xx(serve):
    async with serve() as (client, _server):
        feedback = await client.post(
            "/feedback", json={"request_id": "x", "label": 1, "model": [1]}
        )
        assert feedback.status_code == 422 and "'model' must be a string" in feedback.text
        nested = await client.post(
            "/feedback", json={"request_id": "x", "label": {"a": 1}, "model": "cancer"}
        )
        assert nested.status_code == 422 and "'label' must be" in nested.text
        promote = await client.post(
            "/models/cancer/promote", json={"version": "1.0.0", "reason": {"a": 1}}
        )
        assert promote.status_code == 422 and "'reason' must be a string" in promote.text
        empty = await client.post("/models/cancer/promote", json={"version": "1.0.0", "alias": ""})
        assert empty.status_code == 422 and "'alias' is empty" in empty.text


@pytest.mark.parametrize(
    ("body", "length", "message"),
    [
        (b"{}", "x", "is not a number"),
        (b"{}", "10", "does not fit the 2-byte body"),
        (b"{}", "2", "'inputs' must be a non-empty list"),
    ],
)
async def test_malformed_binary_tensor_requests_are_named(serve, body, length, message):
    async with serve() as (client, _server):
        response = await client.post(
            "/v2/models/cancer/infer",
            content=body,
            headers={"Inference-Header-Content-Length": length},
        )
        assert response.status_code == 400 and message in response.json()["error"]


async def test_unknown_model_names_do_not_create_metric_series(serve):
    async with serve() as (client, _server):
        for index in range(3):
            await client.post(f"/invocations?model=made-up-{index}", json={"instances": [ROW]})
        metrics = (await client.get("/metrics")).text
    assert "made-up" not in metrics
    assert (
        'ferry_requests_total{model="unknown",protocol="mlflow",status="404",variant="none",version="none"} 3.0'
        in metrics
    )


async def test_feedback_needs_the_token_when_configured(serve):
    async with serve(api_token="t") as (client, _server):
        assert (
            await client.post("/feedback", json={"request_id": "x", "label": 1})
        ).status_code == 401
        ok = await client.post(
            "/feedback",
            json={"request_id": "x", "label": 1, "model": "cancer"},
            headers={"authorization": "bearer t"},
        )
        assert ok.status_code == 200


async def test_mixed_categorical_values_are_logged_as_text(serve_registry, sqlite_registry):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"plan": ["a", "b", "c", "a"]})
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(
        frame, [0, 1, 1, 0]
    )
    sqlite_registry.register(model, "plans", input_example=frame)
    async with serve_registry(sqlite_registry, models=("plans",)) as (client, _server):
        for value in ("x", 1):
            assert (await client.post("/predict", json={"rows": [[value]]})).status_code == 200
    logged = (
        ds.dataset(sqlite_registry.settings.home / "predictions", partitioning="hive")
        .to_table()
        .to_pandas()
    )
    assert sorted(logged["plan"].tolist()) == ["1", "x"]
