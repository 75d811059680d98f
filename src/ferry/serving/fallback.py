"""The last line of the HTTP surface: raised errors, unmatched routes and unexpected failures
answer JSON.

Starlette answers an unknown path or method in plain text and turns an exception that escapes a
route into a plain-text 500 (and logs it twice, once itself and once in the server). Clients of a
JSON API should never have to parse either, so both are answered here in the protocol's shape,
and an unexpected exception is logged exactly once, with its traceback.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.serving.responses import (
    INTERNAL_MESSAGE,
    error_response,
    failure_response,
    protocol_of,
)

log = logging.getLogger("ferry.serving")


async def http_error(request: Request, error: Exception) -> Response:
    """An unmatched path (404) or method (405) as JSON naming what was asked for."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    headers = error.headers if isinstance(error, HTTPException) else None
    protocol = protocol_of(request.url.path)
    return failure_response(status, _explain(request, status), protocol, headers)


async def ferry_error(request: Request, error: Exception) -> Response:
    """An error a route raised, in its protocol's JSON shape with the status from ``STATUS``."""
    return error_response(error, protocol_of(request.url.path))


def _explain(request: Request, status: int) -> str:
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    where = f"{request.method} {raw or request.url.path}"
    if status == 405:
        return f"{where}: method not allowed on this path; see /docs"
    if status != 404:
        return f"{where}: {status}"
    if "%2f" in raw.lower():
        return (
            f"{where}: no such route; a model name cannot hold an encoded '/' (%2F): model "
            "names are lowercase letters, digits, '-' and '_'"
        )
    return f"{where}: no such route; see /docs for the routes this server has"


class JsonErrors:
    """ASGI middleware: an exception that escaped a route becomes a generic JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if not started:  # once the head is sent, the connection can only be dropped
                response = failure_response(500, INTERNAL_MESSAGE, protocol_of(scope["path"]))
                await response(scope, receive, send)
