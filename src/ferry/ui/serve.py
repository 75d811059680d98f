"""The dashboard inside ``ferry serve``: the same pages, plus the server's live figures, and
alias moves that the server follows at once."""

from __future__ import annotations

from starlette.applications import Starlette

from ferry.serving.server import ModelServer
from ferry.ui.app import create_ui
from ferry.ui.dashboard import Dashboard, RunStarter
from ferry.ui.live import LiveSampler, LiveSnapshot
from ferry.ui.recent import RecentPage, recent_requests


class ServerFigures:
    """What the serving process knows about itself, for the Models and Live pages."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.sampler = LiveSampler(server.metrics.registry.collect)

    def status(self) -> dict[str, str]:
        """``{model: "ready 1.2.0"}`` for every served model."""
        models = self.server.health()["models"]
        return {
            name: f"{entry['status']} {entry.get('version', '')}".strip()
            for name, entry in models.items()
        }

    def snapshot(self) -> LiveSnapshot:
        """Rates, errors, latency, confidence, batches, CPU and memory of this process."""
        return self.sampler.sample()

    def recent(self, page: int) -> RecentPage:
        """A page of the newest logged requests of the served models."""
        return recent_requests(self.server.capture.store, sorted(self.server.live), page)


def dashboard_for(server: ModelServer, trainer: RunStarter | None) -> Starlette:
    """The dashboard over ``server``'s registry, its trainer and its live figures."""

    async def alias_moved(model: str) -> None:
        if model in server.live:
            await server.refresh(model)

    dashboard = Dashboard(
        registry=server.registry,
        trainer=trainer,
        token=server.settings.api_token,
        live=ServerFigures(server),
        alias_moved=alias_moved,
    )
    return create_ui(dashboard)
