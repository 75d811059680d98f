"""``/ui`` of ``ferry serve``: the dashboard, built on its first request.

The dashboard needs Jinja2, the run history and the training queries; none of that belongs in
the server's cold start, so this mount imports ``ferry.ui`` only when someone opens a page.
"""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import TYPE_CHECKING, Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from ferry.serving.server import ModelServer

PREFIX = "/ui"


class LazyDashboard:
    """An ASGI app that builds the real dashboard once, on the first request it receives."""

    def __init__(self, server: ModelServer, trainer: Any) -> None:
        self.server = server
        self.trainer = trainer
        self._app: ASGIApp | None = None
        self._building = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            async with self._building:
                if self._app is None:
                    module = import_module("ferry.ui.serve")
                    self._app = module.dashboard_for(self.server, self.trainer)
        await self._app(scope, receive, send)


def dashboard_mount(server: ModelServer, trainer: Any) -> Mount:
    """The ``/ui`` mount for ``create_app``."""
    return Mount(PREFIX, app=LazyDashboard(server, trainer), name="ui")
