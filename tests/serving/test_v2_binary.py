"""tritonclient's binary tensor mode, its requests and responses encoded by tritonclient itself."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as triton

from ferry.serving.protocols.v2_binary import split_request

pytestmark = pytest.mark.anyio


def _request(rows: np.ndarray, binary_in: bool, binary_out: bool) -> tuple[bytes, dict[str, str]]:
    tensor = triton.InferInput("input-0", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows.astype(np.float32), binary_data=binary_in)
    outputs = [
        triton.InferRequestedOutput(name, binary_data=binary_out)
        for name in ("predict", "predict_proba")
    ]
    body, json_size = triton.InferenceServerClient.generate_request_body([tensor], outputs)
    headers = {} if json_size is None else {"Inference-Header-Content-Length": str(json_size)}
    return body if isinstance(body, bytes) else body.encode(), headers


@pytest.mark.parametrize(("binary_in", "binary_out"), [(True, True), (True, False), (False, True)])
async def test_binary_inputs_and_outputs_answer_like_json(
    serve, pipeline, cancer, binary_in, binary_out
):
    X = cancer[0].head(3)
    async with serve() as (client, _server):
        body, headers = _request(X.to_numpy(), binary_in, binary_out)
        response = await client.post("/v2/models/cancer/infer", content=body, headers=headers)

    assert response.status_code == 200, response.text
    length = response.headers.get("inference-header-content-length")
    assert (length is not None) == binary_out
    result = triton.InferenceServerClient.parse_response_body(
        response.content, header_length=int(length) if length else None
    )
    assert result.as_numpy("predict").tolist() == pipeline.predict(X).tolist()
    np.testing.assert_allclose(
        result.as_numpy("predict_proba"), pipeline.predict_proba(X), atol=1e-5
    )


def test_bytes_tensors_decode_to_text() -> None:
    texts = np.array([b"first", "sécond".encode()], dtype=np.object_)
    tensor = triton.InferInput("text", [2], "BYTES")
    tensor.set_data_from_numpy(texts, binary_data=True)
    body, json_size = triton.InferenceServerClient.generate_request_body([tensor])

    payload = split_request(body, str(json_size))

    assert payload["inputs"][0]["data"] == ["first", "sécond"]
    assert payload["inputs"][0]["parameters"] == {}
