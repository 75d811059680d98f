"""The pages people read: Models, Model, Run and Login (GET handlers)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import InvalidInput
from ferry.training.runs import QUEUED, RUNNING, RunStore
from ferry.ui.dashboard import Dashboard
from ferry.ui.queries import model_detail, models_overview
from ferry.ui.render import Renderer


async def models(request: Request, ui: Dashboard, out: Renderer) -> Response:
    """Every model: aliases, latest version, age, last run and decision, drift, live status."""
    rows = await run_in_threadpool(models_overview, ui.need_registry())
    live = ui.live.status() if ui.live is not None else {}
    return out.page(request, "models.html", rows=rows, live=live)


async def model(request: Request, ui: Dashboard, out: Renderer) -> Response:
    """One model's versions, alias history, runs, drift over time and the latest drift check."""
    name = request.path_params["name"]
    every = _features(request.query_params.get("features", ""))
    detail = await run_in_threadpool(model_detail, ui.need_registry(), name, every)
    return out.page(request, "model.html", model=detail, can_train=ui.trainer is not None)


async def run(request: Request, ui: Dashboard, out: Renderer) -> Response:
    """One training run: its steps as they happen, then its metrics, decision and reason."""
    store = RunStore(ui.need_registry().catalog)
    record = await run_in_threadpool(store.get, request.path_params["run_id"])
    going = record.status in (QUEUED, RUNNING)
    return out.page(request, "run.html", run=record, going=going)


async def live(request: Request, ui: Dashboard, out: Renderer) -> Response:
    """The serving process's own figures, refreshed in place (``ferry serve`` only)."""
    live = ui.need_live()
    page = _page_number(request.query_params.get("page", "1"))
    recent = await run_in_threadpool(live.recent, page)
    return out.page(
        request, "live.html", figures=live.snapshot(), served=live.status(), recent=recent
    )


def _features(text: str) -> bool:
    """``?features=all`` plots every feature of the latest check; by default the first few."""
    if text not in ("", "all"):
        raise InvalidInput(f"features must be 'all' or left out, got {text!r}")
    return text == "all"


def _page_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"page must be a whole number from 1, got {text!r}")
    return int(text)


async def login(request: Request, ui: Dashboard, out: Renderer) -> Response:
    """The sign-in form (only meaningful with FERRY_API_TOKEN set)."""
    return out.page(request, "login.html", required=ui.token is not None, problem=None)
