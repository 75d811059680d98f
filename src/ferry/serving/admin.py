"""Routes that change things: feedback, alias moves, training runs (token-protected).

They raise :mod:`ferry.errors`; the app's exception handler answers each in JSON with its status.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import InvalidInput, Unauthorized, Unsupported
from ferry.serving.protocols import expect_object, parse_json
from ferry.serving.responses import json_response, read_body
from ferry.serving.routing import Routes
from ferry.serving.server import ModelServer

if TYPE_CHECKING:
    from ferry.registry.registry import Registry


class Trainer(Protocol):
    """Starts training runs for ``POST /train`` (wired in by the CLI; serving imports no training)."""

    def start(self, model: str, force: bool = False) -> str: ...

    def run(self, run_id: str) -> dict[str, Any]: ...


def authorise(server: ModelServer, request: Request) -> None:
    """Refuse a protected route without the configured token (constant-time comparison)."""
    token = server.settings.api_token
    if token is None:
        return
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else ""
    given = given or request.headers.get("x-ferry-token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized(
            "this route needs the API token: send 'Authorization: Bearer <FERRY_API_TOKEN>'"
        )


async def body_of(server: ModelServer, request: Request, allowed: set[str]) -> dict[str, Any]:
    """A small JSON object body (empty means ``{}``) with only ``allowed`` keys.

    ``alias``, ``reason``, ``model`` and ``version`` must be strings when present, and all but
    ``reason`` non-empty: an empty name is a mistake, not a request for the default.
    """
    raw = await read_body(request, server.settings.max_body_bytes)
    payload = expect_object(parse_json(raw) if raw else {}, allowed)
    for key in ("alias", "reason", "model", "version"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            raise InvalidInput(f"{key!r} must be a string")
        if key != "reason" and payload.get(key) == "":
            raise InvalidInput(f"{key!r} is empty: name one, or leave the key out")
    return payload


def admin_routes(routes: Routes, server: ModelServer) -> None:
    @routes.post("/feedback", tags=["feedback"])
    async def feedback(request: Request) -> Response:
        """Ground truth for an earlier prediction, by its request id."""
        authorise(server, request)
        payload = await body_of(server, request, {"request_id", "label", "model"})
        if not isinstance(payload.get("request_id"), str) or "label" not in payload:
            raise InvalidInput("feedback needs 'request_id' (a string) and 'label'")
        model = await server.feedback(payload["request_id"], payload["label"], payload.get("model"))
        return json_response(
            {"recorded": True, "model": model, "request_id": payload["request_id"]}
        )

    @routes.post("/models/{model}/promote", tags=["admin"])
    async def promote(request: Request, model: str) -> Response:
        """Point an alias (default: the one served) at a version; the server follows it."""
        authorise(server, request)
        payload = await body_of(server, request, {"version", "alias", "reason"})
        if not isinstance(payload.get("version"), str):
            raise InvalidInput("promote needs 'version' (e.g. \"1.4.0\")")
        alias = payload.get("alias") or _served_alias(server, model)
        move = await _in_thread(
            _registry(server).set_alias, model, alias, payload["version"], payload.get("reason")
        )
        await _refresh_if_served(server, model)
        return json_response({"model": model, "alias": alias, "version": payload["version"],
                      "moved": move is not None})  # fmt: skip

    @routes.post("/models/{model}/rollback", tags=["admin"])
    async def rollback(request: Request, model: str) -> Response:
        """Move an alias back to its previous version; the server follows it."""
        authorise(server, request)
        payload = await body_of(server, request, {"alias", "reason"})
        alias = payload.get("alias") or _served_alias(server, model)
        move = await _in_thread(_registry(server).rollback, model, alias, payload.get("reason"))
        await _refresh_if_served(server, model)
        return json_response(
            {"model": model, "alias": alias, "from": move.from_version, "to": move.to_version}
        )


def training_routes(routes: Routes, server: ModelServer, trainer: Trainer | None) -> None:
    def training() -> Trainer:
        _registry(server)  # a baked bundle has nowhere to register a run's version
        if trainer is None:
            raise Unsupported(
                "training is not enabled in this server (start it with `ferry serve`)"
            )
        return trainer

    @routes.post("/train", tags=["admin"], status_code=202)
    async def train(request: Request) -> Response:
        """Start a run of the model's pipeline in the background; returns its id at once."""
        authorise(server, request)
        payload = await body_of(server, request, {"model", "force"})
        model = payload.get("model") or server.model(None).name
        if not isinstance(model, str) or not isinstance(payload.get("force", False), bool):
            raise InvalidInput("'model' must be a string and 'force' a boolean")
        run_id = await _in_thread(training().start, model, payload.get("force", False))
        return json_response(
            {"run_id": run_id, "model": model, "status": "queued", "url": f"/runs/{run_id}"}, 202
        )

    @routes.get("/runs/{run_id}", tags=["admin"])
    async def run(request: Request, run_id: str) -> Response:
        """One training run: status, step timings, metrics, decision and reason."""
        authorise(server, request)
        record = await _in_thread(training().run, run_id)
        return json_response(record)


def _registry(server: ModelServer) -> Registry:
    """The registry aliases move in; a server of a baked bundle has none."""
    if server.registry is None:
        raise Unsupported(
            "this server serves a baked bundle, which has no registry: move the alias in the "
            "registry, bake again and redeploy"
        )
    return server.registry


def _served_alias(server: ModelServer, model: str) -> str:
    live = server.live.get(model)
    return live.ref.alias if live is not None and live.ref.alias else "production"


async def _refresh_if_served(server: ModelServer, model: str) -> None:
    """Swap now instead of at the next poll when the moved alias is one this server follows."""
    if model in server.live:
        await server.refresh(model)


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)
