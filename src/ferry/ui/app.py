"""The dashboard as a Starlette app: ``ferry ui`` serves it at ``/``, ``ferry serve`` at ``/ui``.

Links are built from route names against the mount point, so the same app works at both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ferry.errors import FerryError, NotFound
from ferry.ui import actions, pages
from ferry.ui.dashboard import Dashboard
from ferry.ui.guard import Guard
from ferry.ui.render import Renderer, link

STATIC = Path(__file__).with_name("static")

Page = Callable[[Request, Dashboard, Renderer], Awaitable[Response]]
Action = Callable[[Request, Dashboard, Guard], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def create_ui(dashboard: Dashboard) -> Starlette:
    """The dashboard's pages, actions and shipped assets over ``dashboard``."""
    guard = Guard(dashboard.token)
    out = Renderer(guard, live=dashboard.live is not None)

    def page(handler: Page) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not guard.signed_in(request):
                return RedirectResponse(link(request, "login"), status_code=303)
            try:
                return await handler(request, dashboard, out)
            except FerryError as error:
                return out.error(request, error)

        return endpoint

    def action(handler: Action) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, dashboard, guard)
            except FerryError as error:
                return out.error(request, error)

        return endpoint

    async def login(request: Request) -> Response:
        return await pages.login(request, dashboard, out)

    async def sign_in(request: Request) -> Response:
        try:
            return await actions.sign_in(request, guard, out)
        except FerryError as error:
            return out.error(request, error)

    async def sign_out(request: Request) -> Response:
        return await action(lambda r, _d, g: actions.sign_out(r, g))(request)

    async def not_found(request: Request, error: Exception) -> Response:
        detail = error.detail if isinstance(error, HTTPException) else str(error)
        status = error.status_code if isinstance(error, HTTPException) else 404
        response = out.error(request, NotFound(f"{request.url.path}: {detail}"))
        response.status_code = status
        return response

    routes: list[BaseRoute] = [
        Route("/", page(pages.models), name="models"),
        Route("/models/{name}", page(pages.model), name="model"),
        Route("/runs/{run_id}", page(pages.run), name="run"),
        Route("/login", login, name="login", methods=["GET"]),
        Route("/login", sign_in, name="sign_in", methods=["POST"]),
        Route("/logout", sign_out, name="logout", methods=["POST"]),
        Route("/models/{name}/train", action(actions.train), name="train", methods=["POST"]),
        Route("/models/{name}/promote", action(actions.promote), name="promote", methods=["POST"]),
        Route(
            "/models/{name}/rollback", action(actions.rollback), name="rollback", methods=["POST"]
        ),
        Route(
            "/models/{name}/rollout/{action}",
            action(actions.end_rollout),
            name="end_rollout",
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if dashboard.live is not None:
        routes.append(Route("/live", page(pages.live), name="live"))
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found})
