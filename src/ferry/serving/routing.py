"""Starlette routes declared with small decorators, and the OpenAPI document they add up to.

ferry parses and validates request bodies itself (per protocol, with messages that name the
field), so it needs routing and an OpenAPI description, not a request-model framework: plain
Starlette starts in milliseconds and adds little per request.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Lifespan

from ferry.serving.fallback import JsonErrors, http_error
from ferry.serving.responses import json_response

Endpoint = Callable[..., Awaitable[Any]]

SWAGGER_UI = Path(__file__).with_name("swagger")
"""Swagger UI (swagger-ui-dist 5.35.0, Apache-2.0) shipped inside the package: ``/docs`` works
on a machine without internet."""

_DOCS_PAGE = """<!doctype html>
<html><head><title>{title} API</title><meta charset="utf-8">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui"}})</script>
</body></html>"""


@dataclass
class _Declared:
    method: str
    path: str
    endpoint: Endpoint
    tags: list[str]
    status_code: int
    openapi_extra: dict[str, Any] = field(default_factory=dict)


class Routes:
    """Collects routes (``@routes.get(path)``, ``@routes.post(path)``) and builds the app."""

    def __init__(self, title: str, version: str, description: str) -> None:
        self.info = {"title": title, "version": version, "description": description}
        self._declared: list[_Declared] = []

    def get(self, path: str, *, tags: list[str], **doc: Any) -> Callable[[Endpoint], Endpoint]:
        """Declare a GET route."""
        return self._declare("GET", path, tags, **doc)

    def post(self, path: str, *, tags: list[str], **doc: Any) -> Callable[[Endpoint], Endpoint]:
        """Declare a POST route."""
        return self._declare("POST", path, tags, **doc)

    def _declare(
        self, method: str, path: str, tags: list[str], status_code: int = 200,
        openapi_extra: dict[str, Any] | None = None,
    ) -> Callable[[Endpoint], Endpoint]:  # fmt: skip
        def register(endpoint: Endpoint) -> Endpoint:
            self._declared.append(
                _Declared(method, path, endpoint, tags, status_code, openapi_extra or {})
            )
            return endpoint

        return register

    def build(
        self, lifespan: Lifespan[Starlette], middleware: Sequence[Middleware] = ()
    ) -> Starlette:
        """The Starlette app: every declared route, ``/openapi.json`` and ``/docs``; anything
        else (an unknown path or method, an unexpected failure) answers JSON. ``middleware``
        runs inside the JSON fallback."""
        routes: list[BaseRoute] = [
            Route(d.path, _adapt(d.endpoint), methods=[d.method]) for d in self._declared
        ]
        document = self.openapi()

        async def openapi(_request: Request) -> Response:
            return json_response(document)

        async def docs(_request: Request) -> Response:
            return HTMLResponse(_DOCS_PAGE.format(title=self.info["title"]))

        routes += [
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
            Mount("/docs/static", StaticFiles(directory=SWAGGER_UI)),
        ]
        return Starlette(
            routes=routes,
            lifespan=lifespan,
            middleware=[Middleware(JsonErrors), *middleware],
            exception_handlers={HTTPException: http_error},
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 description of every declared route."""
        paths: dict[str, dict[str, Any]] = {}
        for declared in self._declared:
            doc = inspect.getdoc(declared.endpoint) or ""
            operation: dict[str, Any] = {
                "summary": doc.split("\n")[0],
                "description": doc,
                "tags": declared.tags,
                "operationId": f"{declared.endpoint.__name__}_{declared.method.lower()}",
                "responses": {str(declared.status_code): {"description": "OK"}},
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in _path_params(declared.endpoint)
                ],
                **declared.openapi_extra,
            }
            paths.setdefault(declared.path, {})[declared.method.lower()] = operation
        return {"openapi": "3.1.0", "info": self.info, "paths": paths}


def _path_params(endpoint: Endpoint) -> list[str]:
    return [name for name in inspect.signature(endpoint).parameters if name != "request"]


def _adapt(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Call ``endpoint`` with the request and its path parameters; dicts become JSON."""
    names = _path_params(endpoint)
    wants_request = "request" in inspect.signature(endpoint).parameters

    async def handle(request: Request) -> Response:
        arguments = {name: request.path_params[name] for name in names}
        if wants_request:
            arguments["request"] = request
        result = await endpoint(**arguments)
        return result if isinstance(result, Response) else json_response(result)

    return handle
