"""Starlette routes declared with small decorators, and the OpenAPI document they add up to.

ferry parses and validates request bodies itself (per protocol, with messages that name the
field), so it needs routing and an OpenAPI description, not a request-model framework: plain
Starlette starts in milliseconds and adds little per request.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import CONVERTOR_TYPES, Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Lifespan

from ferry.errors import FerryError
from ferry.serving.fallback import JsonErrors, ferry_error, http_error
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


class Routes:
    """Collects routes (``@routes.get(path)``, ``@routes.post(path)``) and builds the app."""

    def __init__(self, title: str, version: str, description: str, secured: bool = False) -> None:
        self.info = {"title": title, "version": version, "description": description}
        self.secured = secured
        """True when FERRY_API_TOKEN guards the admin routes (the document says so)."""
        self._declared: list[_Declared] = []
        self._document: dict[str, Any] | None = None

    def get(self, path: str, *, tags: list[str]) -> Callable[[Endpoint], Endpoint]:
        """Declare a GET route."""
        return self._declare("GET", path, tags)

    def post(
        self, path: str, *, tags: list[str], status_code: int = 200
    ) -> Callable[[Endpoint], Endpoint]:
        """Declare a POST route (``status_code``: its success status, for the document)."""
        return self._declare("POST", path, tags, status_code)

    def _declare(
        self, method: str, path: str, tags: list[str], status_code: int = 200
    ) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self._declared.append(_Declared(method, path, endpoint, tags, status_code))
            return endpoint

        return register

    def build(
        self, lifespan: Lifespan[Starlette], middleware: Sequence[Middleware] = ()
    ) -> Starlette:
        """The Starlette app: every declared route, ``/openapi.json`` and ``/docs``; anything
        else (an unknown path or method, an unexpected failure) answers JSON. ``middleware``
        runs inside the JSON fallback."""
        routes: list[BaseRoute] = [
            Route(_segments(path), _by_method(handlers), methods=list(handlers))
            for path, handlers in self._by_path().items()
        ]

        async def openapi(_request: Request) -> Response:
            return json_response(self.openapi())

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
            exception_handlers={HTTPException: http_error, FerryError: ferry_error},
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 description of every declared route, built on first use: the
        schemas are not imported before the server answers its first prediction."""
        if self._document is None:
            from ferry.serving.openapi.document import Described, build

            described = [
                Described(d.method, d.path, *_summary(d.endpoint), d.tags,
                          f"{d.endpoint.__name__}_{d.method.lower()}", d.status_code)
                for d in self._declared
            ]  # fmt: skip
            self._document = build(self.info, described, self.secured)
        return self._document

    def _by_path(self) -> dict[str, dict[str, Callable[[Request], Awaitable[Response]]]]:
        """Each path's handlers by method: one route per path, so that a 405 answer's
        ``Allow`` header names every method the path has."""
        paths: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
        for declared in self._declared:
            paths.setdefault(declared.path, {})[declared.method] = _adapt(declared.endpoint)
        return paths


def _summary(endpoint: Endpoint) -> tuple[str, str]:
    """The endpoint's docstring: its first line, and all of it."""
    doc = inspect.getdoc(endpoint) or ""
    return doc.split("\n")[0], doc


def _path_params(endpoint: Endpoint) -> list[str]:
    return [name for name in inspect.signature(endpoint).parameters if name != "request"]


class _Segment(Convertor[str]):
    """A path parameter that stops at ``:``, so ``/v1/models/{model}`` does not take
    ``/v1/models/churn:predict`` (a GET there is a 405, not an unknown model)."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def _segments(path: str) -> str:
    """``path`` with each ``{param}`` matched by :class:`_Segment`."""
    if "segment" not in CONVERTOR_TYPES:
        register_url_convertor("segment", _Segment())
    return re.sub(r"{(\w+)}", r"{\1:segment}", path)


def _by_method(
    handlers: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint answering each method with its handler (HEAD with GET's)."""

    async def handle(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return handle


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
