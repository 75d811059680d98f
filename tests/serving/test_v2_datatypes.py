"""v2 metadata declares the datatypes the backend really answers with."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("onnx", ["auto", "off"])
async def test_metadata_datatypes_match_the_inference_answer(serve, cancer, onnx):
    rows = cancer[0].head(2).to_numpy().tolist()
    request = {"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP64", "data": rows}]}
    async with serve(onnx=onnx) as (client, _server):
        metadata = (await client.get("/v2/models/cancer")).json()
        answer = (await client.post("/v2/models/cancer/infer", json=request)).json()

    declared = {output["name"]: output["datatype"] for output in metadata["outputs"]}
    answered = {output["name"]: output["datatype"] for output in answer["outputs"]}
    assert declared == answered, (declared, answered)


async def test_unknown_v2_paths_answer_json(serve):
    async with serve() as (client, _server):
        for path in ("/v2/models/cancer/config", "/v2/models/cancer/stats", "/v2/repository/index"):
            response = await client.get(path)
            assert response.status_code in (404, 405), path
            assert "error" in response.json(), path
