"""The server's routes, in process through an ASGI transport."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


def rows(cancer, n=3):
    return cancer[0].head(n).to_numpy().tolist()


def records(cancer, n=3):
    return cancer[0].head(n).to_dict(orient="records")


async def test_health_and_readiness(serve):
    async with serve() as (client, _server):
        assert (await client.get("/v2/health/live")).json() == {"live": True}
        assert (await client.get("/v2/health/ready")).status_code == 200
        assert (await client.get("/ping")).status_code == 200
        assert (await client.get("/health")).status_code == 200
        health = (await client.get("/model/health")).json()
        model = health["models"]["cancer"]
        assert health["status"] == "ready" and model["status"] == "ready"
        assert model["version"] == "1.0.0" and model["backend"] == "onnx"
        for key in (
            "load_ms",
            "warmup_mean_ms",
            "warmup_p95_ms",
            "cache_hit",
            "model_age_days",
            "last_swap",
        ):
            assert key in model


async def test_predict_rows_and_records(serve, pipeline, cancer):
    expected = pipeline.predict(cancer[0].head(3)).tolist()
    async with serve() as (client, _server):
        by_rows = (await client.post("/predict", json={"rows": rows(cancer)})).json()
        by_records = (await client.post("/predict", json={"records": records(cancer)})).json()
    assert by_rows["predictions"] == by_records["predictions"] == expected
    np.testing.assert_allclose(
        by_rows["probabilities"], pipeline.predict_proba(cancer[0].head(3)), atol=1e-5
    )
    assert by_rows["model"] == "cancer" and by_rows["version"] == "1.0.0"
    assert len(by_rows["request_id"]) == 32


async def test_a_large_request_answers_as_its_rows_do_one_by_one(serve, pipeline, cancer):
    """100 rows (a batch of their own, run off the event loop) answer as 100 single rows."""
    async with serve() as (client, _server):
        whole = (await client.post("/predict", json={"rows": rows(cancer, 100)})).json()
        single = [
            (await client.post("/predict", json={"rows": [row]})).json()
            for row in rows(cancer, 100)
        ]
    assert whole["predictions"] == [answer["predictions"][0] for answer in single]
    assert whole["predictions"] == pipeline.predict(cancer[0].head(100)).tolist()
    # float32 kernels for 100 rows and for 1 may differ in the last bits, never more
    singles = [answer["probabilities"][0] for answer in single]
    np.testing.assert_allclose(whole["probabilities"], singles, atol=1e-6)
    expected = pipeline.predict_proba(cancer[0].head(100))
    np.testing.assert_allclose(whole["probabilities"], expected, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"records": [{"mean radius": 1.0}]}, 422, "record 0 is missing feature 'mean texture'"),
        ("EXTRA", 422, "record 0 has unknown feature 'extra'"),
        ("STRING", 422, "feature 'mean radius' in row 0 must be a number, got 'big'"),
        ("NULL", 422, "feature 'mean area' in row 1 is null"),
        ({"rows": [[1.0, 2.0]]}, 422, "row 0 has 2 values; this model takes 30"),
        ({"rows": []}, 422, "the batch is empty"),
        ({"records": []}, 422, "the batch is empty"),
        ({"rowz": [[1]]}, 422, "unknown field 'rowz'"),
        ({}, 422, "the body needs 'records'"),
        (b"{not json", 422, "malformed JSON"),
        (b"", 422, "the request body is empty"),
        ({"rows": [[0.0] * 30], "model": "ghost"}, 404, "model 'ghost' is not served here"),
    ],
)
async def test_bad_requests_get_4xx_naming_the_problem(serve, cancer, body, status, message):
    if body == "EXTRA":
        body = {"records": [{**records(cancer, 1)[0], "extra": 1}]}
    elif body == "STRING":
        body = {"records": [{**records(cancer, 1)[0], "mean radius": "big"}]}
    elif body == "NULL":
        body = {"records": [records(cancer, 2)[0], {**records(cancer, 2)[1], "mean area": None}]}
    async with serve() as (client, _server):
        content = body if isinstance(body, bytes) else None
        response = await client.post(
            "/predict", content=content, json=None if content is not None else body
        )
        assert response.status_code == status
        assert message in response.json()["error"]
        assert (await client.get("/v2/health/ready")).status_code == 200


async def test_oversized_bodies_are_refused(serve, cancer):
    async with serve(max_body_bytes=1000) as (client, _server):
        response = await client.post("/predict", json={"rows": rows(cancer, 20)})
        assert response.status_code == 413
        assert "limit is 1000" in response.json()["error"]


async def test_invocations_accepts_every_mlflow_shape(serve, pipeline, cancer):
    frame = cancer[0].head(4)
    expected = pipeline.predict(frame).tolist()
    split = {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    bodies = [
        {"dataframe_split": split},
        {"dataframe_records": frame.to_dict(orient="records")},
        {"instances": frame.to_numpy().tolist()},
        {"inputs": frame.to_dict(orient="list")},
        {"instances": frame.to_dict(orient="records")},
    ]
    async with serve() as (client, _server):
        for body in bodies:
            response = await client.post("/invocations", json=body)
            answer = response.json()
            assert answer["predictions"] == expected, body.keys()
            assert answer.keys() == {"predictions", "probabilities"}  # a classifier's outputs
        csv = frame.to_csv(index=False).encode()
        response = await client.post(
            "/invocations", content=csv, headers={"content-type": "text/csv"}
        )
        assert response.json()["predictions"] == expected
        bad = await client.post("/invocations", json={"instances": [[1.0]]})
        assert bad.status_code == 400
        assert bad.json() == {
            "error_code": "BAD_REQUEST",
            "message": "row 0 has 1 values; this model takes 30",
        }
        assert (await client.post("/invocations", json={"rows": []})).json()[
            "error_code"
        ] == "BAD_REQUEST"


async def test_v2_infer_flat_nested_and_per_feature(serve, pipeline, cancer):
    frame = cancer[0].head(2)
    expected = pipeline.predict(frame).tolist()
    flat = {
        "inputs": [
            {
                "name": "x",
                "shape": [2, 30],
                "datatype": "FP64",
                "data": frame.to_numpy().ravel().tolist(),
            }
        ]
    }
    nested = {
        "id": "req-1",
        "inputs": [
            {"name": "x", "shape": [2, 30], "datatype": "FP32", "data": frame.to_numpy().tolist()}
        ],
    }
    per_feature = {
        "inputs": [
            {"name": c, "shape": [2], "datatype": "FP64", "data": frame[c].tolist()} for c in frame
        ]
    }
    async with serve() as (client, _server):
        for body in (flat, nested, per_feature):
            answer = (await client.post("/v2/models/cancer/infer", content=_dumps(body))).json()
            outputs = {o["name"]: o for o in answer["outputs"]}
            assert outputs["predict"]["data"] == expected
            assert outputs["predict_proba"]["shape"] == [2, 2]
            assert answer["model_name"] == "cancer" and answer["model_version"] == "1.0.0"
        assert (await client.post("/v2/models/cancer/infer", json=nested)).json()["id"] == "req-1"
        only = {**flat, "outputs": [{"name": "predict"}]}
        answer = (await client.post("/v2/models/cancer/versions/1.0.0/infer", json=only)).json()
        assert [o["name"] for o in answer["outputs"]] == ["predict"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            400,
            "takes 30",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP32", "data": [1]}]},
            400,
            "do not fill shape",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1], "datatype": "FP99", "data": [1]}]},
            400,
            "unknown datatype",
        ),
        ("/v2/models/cancer/infer", {"inputs": []}, 400, "non-empty list"),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP32", "data": ["a"] * 30}]},
            400,
            "does not match datatype",
        ),
        ("/v2/models/ghost/infer", {"inputs": []}, 404, "not served here"),
        ("/v2/models/cancer/versions/9.9.9/infer", {"inputs": []}, 404, "live version is 1.0.0"),
    ],
)
async def test_v2_errors(serve, path, body, status, message):
    async with serve() as (client, _server):
        response = await client.post(path, json=body)
        assert response.status_code == status
        assert message in response.json()["error"]


async def test_v2_metadata_and_model_readiness(serve):
    async with serve() as (client, _server):
        meta = (await client.get("/v2/models/cancer")).json()
        assert meta["versions"] == ["1.0.0"] and meta["platform"] == "ferry-onnx"
        assert meta["inputs"][0]["shape"] == [-1, 30]
        assert (await client.get("/v2/models/cancer/ready")).json() == {
            "name": "cancer",
            "ready": True,
        }
        assert (await client.get("/v2/models/cancer/versions/1.0.0/ready")).status_code == 200
        assert (await client.get("/v2/models/cancer/versions/2.0.0")).status_code == 404
        assert (await client.get("/v2")).json()["name"] == "ferry"
        assert (await client.get("/docs")).status_code == 200
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert {"/predict", "/invocations", "/v2/models/{model}/infer", "/feedback"} <= paths.keys()


async def test_metrics_are_exported(serve, cancer):
    async with serve() as (client, _server):
        await client.post("/predict", json={"rows": rows(cancer)})
        await client.post("/predict", json={"rows": [[1]]})
        text = (await client.get("/metrics")).text
    for name in (
        'ferry_model_load_duration_seconds{backend="onnx",model="cancer",version="1.0.0"}',
        'ferry_requests_total{model="cancer",protocol="plain",status="200",variant="primary",version="1.0.0"} 1.0',
        'ferry_requests_total{model="cancer",protocol="plain",status="422",variant="none",version="none"} 1.0',
        "ferry_request_duration_seconds_bucket",
        "ferry_batch_size_bucket",
        "ferry_prediction_confidence_bucket",
        "ferry_model_warmup_mean_seconds",
        "ferry_model_warmup_p95_seconds",
        "ferry_model_cache_misses_total",
        'ferry_model_age_seconds{model="cancer",version="1.0.0"}',
        'ferry_model_swaps_total{model="cancer",result="loaded"} 1.0',
    ):
        assert name in text, name


def _dumps(body):
    import json

    return json.dumps(body).encode()
