"""Unknown routes and unexpected failures answer JSON, never plain text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from ferry.serving.routing import Routes

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", "/v2/models/a%2Fb/infer", 404, "cannot hold an encoded '/'"),
        ("POST", "/v2/models/a%2fb/versions/1.0.0/infer", 404, "cannot hold an encoded '/'"),
        ("GET", "/nowhere", 404, "GET /nowhere: no such route"),
        ("GET", "/predict", 405, "GET /predict: method not allowed"),
        ("DELETE", "/v2/models/cancer/infer", 405, "method not allowed"),
    ],
)
async def test_unmatched_routes_answer_json(serve, method, path, status, message):
    async with serve() as (client, _server):
        response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]
    if status == 405:
        assert "allow" in response.headers


async def test_unmatched_mlflow_routes_answer_mlflow_errors(serve):
    async with serve() as (client, _server):
        response = await client.get("/invocations")
    assert response.status_code == 405
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "method not allowed" in response.json()["message"]


@asynccontextmanager
async def failing_app() -> AsyncIterator[httpx.AsyncClient]:
    """An app built by the real route builder with one route that fails unexpectedly."""
    routes = Routes("t", "0", "a route that fails")

    @routes.get("/boom", tags=["t"])
    async def boom() -> dict[str, str]:
        """Fails the way a bug would."""
        raise RuntimeError("secret detail /srv/ferry/home")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield

    app = routes.build(lifespan)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_an_unexpected_exception_is_a_generic_json_500_logged_once(caplog):
    caplog.set_level(logging.ERROR, logger="ferry.serving")
    async with failing_app() as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error; see the server log"}
    assert "secret" not in response.text
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "GET /boom" in tracebacks[0].getMessage()
