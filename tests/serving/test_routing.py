"""The route table's own pages: ``/docs`` is Swagger UI served from the package, no CDN."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from ferry.serving.routing import Routes

pytestmark = pytest.mark.anyio


def _app() -> Starlette:
    routes = Routes("demo", "1.0", "A demo.")

    @routes.get("/hello", tags=["demo"])
    async def hello() -> dict[str, str]:
        """Say hello."""
        return {"hello": "world"}

    return routes.build(None)


async def test_docs_loads_swagger_ui_from_this_server_only():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = (await client.get("/docs")).text
        assets = re.findall(r'(?:href|src)="([^"]+)"', page)
        assert assets and all(a.startswith("/") or a.startswith("data:") for a in assets), assets
        for asset in assets:
            if asset.startswith("/"):
                answer = await client.get(asset)
                assert answer.status_code == 200 and len(answer.content) > 1000, asset
        bundle = (await client.get("/docs/static/swagger-ui-bundle.js")).text
        assert "SwaggerUIBundle" in bundle
        assert (await client.get("/openapi.json")).json()["paths"]["/hello"]["get"]["summary"]
