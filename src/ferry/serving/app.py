"""The HTTP surface of ``ferry serve``: prediction routes, health and readiness.

Errors become status codes in ``responses.STATUS``: a prediction route names its protocol's
adapter and the one prediction path (``predicting.py``) answers and counts it, errors included;
every other route raises and the app's exception handler answers; the routes that change things
live in ``admin.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from ferry import __version__
from ferry.errors import NotReady
from ferry.serving.admin import Trainer, admin_routes, training_routes
from ferry.serving.dashboard import dashboard_mount
from ferry.serving.disclosure import Disclosure, RedactBodies, reveals
from ferry.serving.predicting import answer, check_version
from ferry.serving.protocols import kserve, mlflow, plain, v2
from ferry.serving.responses import json_response
from ferry.serving.rollout_routes import rollout_routes
from ferry.serving.routing import Routes
from ferry.serving.server import ModelServer

log = logging.getLogger("ferry.serving")


def create_app(server: ModelServer, trainer: Trainer | None = None) -> Starlette:
    """The ASGI application around a :class:`ModelServer` (and, optionally, a trainer)."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    routes = Routes(
        "ferry", __version__, "Predictions from the registry's live model versions.",
        secured=server.settings.api_token is not None,
    )  # fmt: skip
    _prediction_routes(routes, server)
    _v2_routes(routes, server)
    _kserve_routes(routes, server)
    _health_routes(routes, server)
    admin_routes(routes, server)
    training_routes(routes, server, trainer)
    rollout_routes(routes, server)
    redact = Middleware(RedactBodies, disclosure=Disclosure.of(server), reveal=reveals(server))
    app = routes.build(lifespan, [redact])
    app.router.routes.append(dashboard_mount(server, trainer))
    app.state.server = server
    return app


def _prediction_routes(routes: Routes, server: ModelServer) -> None:
    @routes.post("/predict", tags=["predict"])
    async def predict(request: Request) -> Response:
        """Plain predictions: ``{"records": [{feature: value}]}`` or ``{"rows": [[...]]}``."""
        return await answer(server, plain.ADAPTER, request, request.query_params.get("model"))

    @routes.post("/invocations", tags=["mlflow"])
    async def invocations(request: Request) -> Response:
        """MLflow scoring: dataframe_split, dataframe_records, instances, inputs, or text/csv;
        for ``?model=`` or else the default model (FERRY_DEFAULT_MODEL, or the first served)."""
        model = request.query_params.get("model") or server.default_model
        return await answer(server, mlflow.ADAPTER, request, model)

    @routes.post("/invocations/{model}", tags=["mlflow"])
    async def invocations_for(request: Request, model: str) -> Response:
        """MLflow scoring for the named model."""
        return await answer(server, mlflow.ADAPTER, request, model)


def _v2_routes(routes: Routes, server: ModelServer) -> None:
    @routes.get("/v2", tags=["v2"])
    async def v2_server() -> dict[str, Any]:
        """Server metadata."""
        return {"name": "ferry", "version": __version__, "extensions": []}

    @routes.post("/v2/models/{model}/infer", tags=["v2"])
    async def v2_infer(request: Request, model: str) -> Response:
        """Inference on the live version."""
        return await answer(server, v2.ADAPTER, request, model)

    @routes.post(
        "/v2/models/{model}/versions/{version}/infer",
        tags=["v2"],
    )
    async def v2_infer_version(request: Request, model: str, version: str) -> Response:
        """Inference on a named version (it must be the live one)."""
        return await answer(server, v2.ADAPTER, request, model, version)

    async def model_metadata(model: str, version: str | None) -> Response:
        loaded = server.model(server.served_as(model, version)).serving()
        check_version(loaded.version, version, model)
        body = v2.metadata(
            model, loaded.version, loaded.spec, loaded.runner.backend,
            loaded.metadata["output_schema"],
        )  # fmt: skip
        return json_response(body)

    @routes.get("/v2/models/{model}", tags=["v2"])
    async def v2_model(model: str) -> Response:
        """Model metadata: versions, platform, inputs and outputs."""
        return await model_metadata(model, None)

    @routes.get("/v2/models/{model}/versions/{version}", tags=["v2"])
    async def v2_model_version(model: str, version: str) -> Response:
        """Metadata of a named version (it must be the live one)."""
        return await model_metadata(model, version)

    async def model_ready(model: str, version: str | None) -> Response:
        try:
            loaded = server.model(server.served_as(model, version)).serving()
            check_version(loaded.version, version, model)
        except NotReady:
            return json_response({"name": model, "ready": False}, 503)
        return json_response({"name": model, "ready": True})

    @routes.get("/v2/models/{model}/ready", tags=["v2"])
    async def v2_model_ready(model: str) -> Response:
        """200 once the model is loaded and warmed up, 503 before."""
        return await model_ready(model, None)

    @routes.get("/v2/models/{model}/versions/{version}/ready", tags=["v2"])
    async def v2_model_version_ready(model: str, version: str) -> Response:
        """200 when this version is the live one and ready."""
        return await model_ready(model, version)


def _kserve_routes(routes: Routes, server: ModelServer) -> None:
    @routes.post("/v1/models/{model}:predict", tags=["kserve"])
    async def kserve_predict(request: Request, model: str) -> Response:
        """KServe v1 prediction: ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out."""
        return await answer(server, kserve.ADAPTER, request, model)

    @routes.get("/v1/models", tags=["kserve"])
    async def kserve_models() -> dict[str, Any]:
        """The served models' names."""
        return {"models": list(server.live)}

    @routes.get("/v1/models/{model}", tags=["kserve"])
    async def kserve_model(model: str) -> Response:
        """KServe v1 model status: ``{"name", "ready"}``; 503 while it loads."""
        try:
            server.model(model).serving()
        except NotReady:
            return json_response(kserve.model_status(model, False), 503)
        return json_response(kserve.model_status(model, True))


def _health_routes(routes: Routes, server: ModelServer) -> None:
    @routes.get("/v2/health/live", tags=["health"])
    async def live() -> dict[str, bool]:
        """Liveness: answers as soon as the process runs."""
        return {"live": True}

    @routes.get("/v2/health/ready", tags=["health"])
    async def ready() -> Response:
        """Readiness: 200 only when every model is loaded, verified and warmed up."""
        return json_response({"ready": server.ready}, 200 if server.ready else 503)

    @routes.get("/ping", tags=["mlflow"])
    async def ping() -> Response:
        """MLflow's readiness check."""
        return Response(b"\n", 200 if server.ready else 503, media_type="text/plain")

    @routes.get("/health", tags=["mlflow"])
    async def health() -> Response:
        """MLflow's health check."""
        return Response(b"\n", 200 if server.ready else 503, media_type="text/plain")

    @routes.get("/version", tags=["mlflow"])
    async def version() -> dict[str, Any]:
        """ferry's version, the served models with their live versions, and the default one."""
        return {
            "name": "ferry",
            "version": __version__,
            "default_model": server.default_model,
            "models": [
                {"name": name, "version": live.current.version if live.current else None}
                for name, live in server.live.items()
            ],
        }

    @routes.get("/model/health", tags=["health"])
    async def model_health() -> dict[str, Any]:
        """Per model: status, version, load and warm-up figures, cache hit, age, last swap."""
        return server.health()

    @routes.get("/metrics", tags=["health"])
    async def metrics() -> Response:
        """Prometheus metrics."""
        body = await asyncio.to_thread(server.metrics_text)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
