"""The adapters' contract: every protocol, driven over HTTP with the same rows, answers the same
predictions one row out per row in, names the version and the variant that answered, is counted
once in the metrics, and refuses a malformed body with a 4xx naming the field, in its own shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton

pytestmark = pytest.mark.anyio
V2 = "/v2/models/cancer/infer"


@dataclass(frozen=True)
class Case:
    """One protocol's way of asking and answering."""

    protocol: str
    """The metrics' protocol label."""
    path: str
    ask: Callable[[pd.DataFrame], dict[str, Any]]
    """``client.post`` arguments asking for the frame's rows."""
    predictions: Callable[[httpx.Response], list[Any]]
    version: Callable[[httpx.Response], str | None]
    """The version the body names (None: the protocol's answer has no place for it)."""
    malformed: dict[str, Any]
    """``client.post`` arguments of a body with one field wrong."""
    status: int
    field: str
    """What the error message must name."""
    message: Callable[[httpx.Response], str]
    """The error message, read from the protocol's error shape (which the reader checks)."""


def _error(response: httpx.Response) -> str:
    """A ``{"error": message}`` body's message (v2, KServe v1 and plain)."""
    body = response.json()
    assert set(body) == {"error"}, body
    return str(body["error"])


def _mlflow_error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error_code", "message"}, body
    assert response.status_code == 400 and body["error_code"] == "BAD_REQUEST"
    return str(body["message"])


def _rows(frame: pd.DataFrame) -> list[list[float]]:
    return frame.to_numpy().tolist()


def _csv(frame: pd.DataFrame) -> dict[str, Any]:
    return {"content": frame.to_csv(index=False).encode(), "headers": {"content-type": "text/csv"}}


def _tensor(frame: pd.DataFrame) -> dict[str, Any]:
    data = frame.to_numpy().ravel().tolist()
    return {"name": "input-0", "shape": list(frame.shape), "datatype": "FP64", "data": data}


def _v2_predictions(response: httpx.Response) -> list[Any]:
    outputs = {output["name"]: output for output in response.json()["outputs"]}
    return list(outputs["predict"]["data"])


def _binary(frame: pd.DataFrame) -> dict[str, Any]:
    """tritonclient's binary request: FP64 rows in, ``predict`` out as raw bytes."""
    tensor = triton.InferInput("input-0", list(frame.shape), "FP64")
    tensor.set_data_from_numpy(frame.to_numpy(dtype=np.float64), binary_data=True)
    output = triton.InferRequestedOutput("predict", binary_data=True)
    body, size = triton.InferenceServerClient.generate_request_body([tensor], [output])
    return {"content": body, "headers": {"Inference-Header-Content-Length": str(size)}}


def _binary_answer(response: httpx.Response) -> Any:
    length = int(response.headers["inference-header-content-length"])
    return triton.InferenceServerClient.parse_response_body(response.content, header_length=length)


def _binary_version(response: httpx.Response) -> str:
    length = int(response.headers["inference-header-content-length"])
    return str(json.loads(response.content[:length])["model_version"])


CASES = [
    Case(
        "plain", "/predict", lambda frame: {"json": {"rows": _rows(frame)}},
        lambda response: response.json()["predictions"],
        lambda response: response.json()["version"],
        {"json": {"rows": "abc"}}, 422, "'rows'", _error,
    ),
    Case(
        "plain", "/predict", lambda frame: {"json": {"records": frame.to_dict(orient="records")}},
        lambda response: response.json()["predictions"],
        lambda response: response.json()["version"],
        {"json": {"records": {"mean radius": 1.0}}}, 422, "'records'", _error,
    ),
    Case(
        "mlflow", "/invocations",
        lambda frame: {"json": {"dataframe_split": {"columns": list(frame), "data": _rows(frame)}}},
        lambda response: response.json()["predictions"], lambda response: None,
        {"json": {"dataframe_split": {"data": 5}}}, 400, "'dataframe_split.data'", _mlflow_error,
    ),
    Case(
        "mlflow", "/invocations/cancer", _csv,
        lambda response: response.json()["predictions"], lambda response: None,
        {"content": b"mean radius,mean radius\n1,2\n", "headers": {"content-type": "text/csv"}},
        400, "the CSV header names 'mean radius' twice", _mlflow_error,
    ),
    Case(
        "kserve", "/v1/models/cancer:predict", lambda frame: {"json": {"instances": _rows(frame)}},
        lambda response: response.json()["predictions"], lambda response: None,
        {"json": {"instances": 5}}, 400, "'instances'", _error,
    ),
    Case(
        "v2", V2, lambda frame: {"json": {"inputs": [_tensor(frame)]}}, _v2_predictions,
        lambda response: response.json()["model_version"],
        {"json": {"inputs": 5}}, 400, "'inputs'", _error,
    ),
    Case(
        "v2", "/v2/models/cancer/versions/1.0.0/infer",
        lambda frame: {"json": {"inputs": [_tensor(frame)], "outputs": [{"name": "predict"}]}},
        _v2_predictions, lambda response: response.json()["model_version"],
        {"json": {"inputs": [_tensor(pd.DataFrame([[1.0] * 30]))], "outputs": [{"name": "proba"}]}},
        400, "'proba'", _error,
    ),
    Case(
        "v2", V2, _binary,
        lambda response: _binary_answer(response).as_numpy("predict").tolist(), _binary_version,
        {"content": b'{"inputs": []}', "headers": {"Inference-Header-Content-Length": "99"}},
        400, "Inference-Header-Content-Length 99", _error,
    ),
]  # fmt: skip
IDS = ["plain-rows", "plain-records", "mlflow-split", "mlflow-csv", "kserve", "v2", "v2-version",
       "v2-binary"]  # fmt: skip


def _counted(metrics: str, case: Case, status: int, variant: str, version: str) -> float:
    """How many requests the metrics counted for this protocol, status, variant and version."""
    labels = (
        f'model="cancer",protocol="{case.protocol}",status="{status}",variant="{variant}",'
        f'version="{version}"'
    )
    for line in metrics.splitlines():
        if line.startswith(f"ferry_requests_total{{{labels}}}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_every_protocol_answers_the_same_rows_alike(serve, pipeline, cancer, case):
    frame = cancer[0].head(5)
    async with serve() as (client, _server):
        many = await client.post(case.path, **case.ask(frame))
        one = await client.post(case.path, **case.ask(frame.tail(1)))
        metrics = (await client.get("/metrics")).text

    for response in (many, one):
        assert response.status_code == 200, response.text
        assert response.headers["x-ferry-variant"] == "primary"
        assert case.version(response) in (None, "1.0.0")
    assert case.predictions(many) == pipeline.predict(frame).tolist()
    assert case.predictions(one) == pipeline.predict(frame.tail(1)).tolist()
    assert _counted(metrics, case, 200, "primary", "1.0.0") == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_malformed_body_is_refused_naming_the_field(serve, caplog, case):
    async with serve() as (client, _server):
        response = await client.post(case.path, **case.malformed)
        metrics = (await client.get("/metrics")).text

    assert response.status_code == case.status, response.text
    assert case.field in case.message(response)
    assert "x-ferry-variant" not in response.headers  # nothing answered
    assert _counted(metrics, case, case.status, "none", "none") == 1
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    ("path", "message_key"),
    [
        ("/predict?model=ghost", "error"),
        ("/invocations/ghost", "message"),
        ("/v1/models/ghost:predict", "error"),
        ("/v2/models/ghost/infer", "error"),
    ],
)
async def test_an_oversized_body_is_refused_before_the_model_is_looked_up(serve, path, message_key):
    async with serve(max_body_bytes=64) as (client, _server):
        response = await client.post(path, content=b"[" + b"1," * 100 + b"1]")
    assert response.status_code == 413, response.text
    assert "FERRY_MAX_BODY_BYTES" in response.json()[message_key]
