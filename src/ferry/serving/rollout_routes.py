"""``/rollouts``: start, read, promote and abort rollouts over HTTP (token-protected).

Errors are raised, and the app's exception handler answers them (``fallback.ferry_error``,
status from ``responses.STATUS``, plain ``{"error"}`` bodies on these paths)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import InvalidInput
from ferry.registry.rollout_plan import PLAN_KEYS, plan_of
from ferry.serving.admin import _refresh_if_served, _registry, _served_alias, authorise, body_of
from ferry.serving.responses import json_response
from ferry.serving.rollout_view import describe
from ferry.serving.routing import Routes
from ferry.serving.server import ModelServer

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout, Rollouts

_START_KEYS = {"model", "alias", "candidate", "reason", *PLAN_KEYS}


def rollout_routes(routes: Routes, server: ModelServer) -> None:
    """Declare the five rollout routes on ``routes``."""

    @routes.get("/rollouts", tags=["rollouts"])
    async def list_rollouts(request: Request) -> Response:
        """Every model's newest rollout (a running one with its current window's figures)."""

        def read(store: Rollouts) -> dict[str, Any]:
            return {"rollouts": [describe(store, rollout) for rollout in store.newest()]}

        return await _answer(server, request, read)

    @routes.get("/rollouts/{name}", tags=["rollouts"])
    async def get_rollout(request: Request, name: str) -> Response:
        """A model's newest rollout: versions, step, state, bounds, the figures of the window
        the next check will judge (while it runs) and its history."""

        def read(store: Rollouts) -> dict[str, Any]:
            history = [event.to_dict() for event in store.history(name)]
            return {**describe(store, store.get(name)), "history": history}

        return await _answer(server, request, read)

    @routes.post("/rollouts", tags=["rollouts"], status_code=201)
    async def start_rollout(request: Request) -> Response:
        """Start rolling a candidate version out beside the version an alias points at."""
        authorise(server, request)
        payload = await body_of(server, request, _START_KEYS)
        model, candidate = payload.pop("model", None), payload.pop("candidate", None)
        if not isinstance(model, str) or not isinstance(candidate, str):
            raise InvalidInput("a rollout needs 'model' and 'candidate' (a version) strings")
        alias = payload.pop("alias", None) or _served_alias(server, model)
        reason = payload.pop("reason", None)
        plan = plan_of(payload)
        store = _rollouts(server)
        rollout = await asyncio.to_thread(store.start, f"{model}@{alias}", candidate, plan, reason)
        await _refresh_if_served(server, model)
        return json_response(rollout.to_dict(), 201)

    @routes.post("/rollouts/{name}/promote", tags=["rollouts"])
    async def promote_rollout(request: Request, name: str) -> Response:
        """Move the alias to the candidate now and end the rollout."""
        return await _change(server, request, name, "promote")

    @routes.post("/rollouts/{name}/abort", tags=["rollouts"])
    async def abort_rollout(request: Request, name: str) -> Response:
        """Send all traffic back to the primary and end the rollout."""
        return await _change(server, request, name, "abort")


async def _answer(
    server: ModelServer, request: Request, read: Callable[[Rollouts], dict[str, Any]]
) -> Response:
    authorise(server, request)
    return json_response(await asyncio.to_thread(read, _rollouts(server)))


def _rollouts(server: ModelServer) -> Rollouts:
    """The catalog's rollouts (imported here: SQLAlchemy stays out of the server's start)."""
    from ferry.registry.rollouts import Rollouts

    return Rollouts(_registry(server))


async def _change(server: ModelServer, request: Request, name: str, action: str) -> Response:
    authorise(server, request)
    payload = await body_of(server, request, {"reason"})
    change = getattr(_rollouts(server), action)  # promote or abort
    rollout: Rollout = await asyncio.to_thread(change, name, payload.get("reason"))
    await _refresh_if_served(server, name)
    return json_response(rollout.to_dict())
