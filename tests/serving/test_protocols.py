"""The protocols' contract: the same bad input answers the same way through every protocol."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

ROW = [1.0] * 30


@pytest.mark.parametrize(
    ("overrides", "params", "body", "status", "code"),
    [
        ({}, {}, {"instances": [[1.0]]}, 400, "BAD_REQUEST"),
        ({}, {"model": "ghost"}, {"instances": [ROW]}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({"max_body_bytes": 64}, {}, {"instances": [ROW]}, 413, "BAD_REQUEST"),
    ],
)
async def test_invocations_error_codes_match_the_status(
    serve, overrides, params, body, status, code
):
    async with serve(**overrides) as (client, _server):
        response = await client.post("/invocations", json=body, params=params)
    assert response.status_code == status
    assert response.json()["error_code"] == code


async def test_invocations_while_the_model_is_unavailable_is_temporarily_unavailable(
    serve_registry, sqlite_registry
):
    async with serve_registry(sqlite_registry, models=("ghost@production",)) as (client, _):
        response = await client.post("/invocations", json={"instances": [ROW]})
    assert response.status_code == 503
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "ghost@production is not available" in response.json()["message"]
