"""The HTTP surface of ``ferry serve``: prediction routes, health and readiness.

Errors become status codes in ``responses.STATUS``: a prediction route maps its own (to count
them in the metrics), every other route raises and the app's exception handler answers; the
routes that change things live in ``admin.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from ferry import __version__
from ferry.errors import (
    NotFound,
    NotReady,
)
from ferry.serving.admin import Trainer, admin_routes, training_routes
from ferry.serving.dashboard import dashboard_mount
from ferry.serving.disclosure import Disclosure, RedactBodies, reveals
from ferry.serving.protocols import kserve, mlflow, parse_json, plain, v2, v2_binary
from ferry.serving.responses import (
    JSON_TYPE,
    error_response,
    json_response,
    read_body,
)
from ferry.serving.rollout_routes import rollout_routes
from ferry.serving.routing import Routes
from ferry.serving.server import ModelServer, Prediction

log = logging.getLogger("ferry.serving")
VARIANT_HEADER = "X-Ferry-Variant"


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


async def _answer(
    server: ModelServer,
    protocol: str,
    model: str | None,
    handler: Callable[[], Awaitable[tuple[Response, str, str | None]]],
) -> Response:
    """Run one prediction handler, map its errors, and count it in the metrics: under the
    served reference that answered (the body or a version path may name it), else the one
    ``model`` names."""
    started = time.perf_counter()
    server.in_flight.requests += 1
    version = "none"
    try:
        response, version, answered = await handler()
        model = answered or model
    except Exception as error:
        response = error_response(error, protocol)
    finally:
        server.in_flight.requests -= 1
    if model is None and len(server.live) == 1:
        model = next(iter(server.live))
    label = model if model in server.live else "unknown"  # never a series per unknown name
    variant = response.headers.get(VARIANT_HEADER, "none")
    status = str(response.status_code)
    server.metrics.requests.labels(label, version, variant, protocol, status).inc()
    elapsed = time.perf_counter() - started
    server.metrics.duration.labels(label, version, variant, protocol).observe(elapsed)
    return response


def _key(request: Request) -> str | None:
    """The sticky key that keeps a user on one variant: ``X-Ferry-Key``, else the request id."""
    return request.headers.get("x-ferry-key") or request.headers.get("x-request-id")


def _named(response: Response, result: Prediction) -> tuple[Response, str, str | None]:
    """Name the variant that answered in ``X-Ferry-Variant`` (and the version and served
    reference, for metrics)."""
    response.headers[VARIANT_HEADER] = result.variant
    return response, result.loaded.version, result.model


def _prediction_routes(routes: Routes, server: ModelServer) -> None:
    limit = server.settings.max_body_bytes

    @routes.post("/predict", tags=["predict"])
    async def predict(request: Request) -> Response:
        """Plain predictions: ``{"records": [{feature: value}]}`` or ``{"rows": [[...]]}``."""

        async def handle() -> tuple[Response, str, str | None]:
            payload = parse_json(await read_body(request, limit))
            name = plain.model_of(payload)  # a model's name, or a further reference of it
            loaded = await server.serving(name)
            rows = plain.parse(payload, loaded.spec)
            result = await server.predict(
                name, rows, request.headers.get("x-request-id"), loaded.spec, _key(request)
            )
            body = plain.respond(
                result.outputs, result.loaded.name, result.loaded.version, result.request_id
            )
            return _named(json_response({**body, "variant": result.variant}), result)

        return await _answer(server, "plain", request.query_params.get("model"), handle)

    async def invoke(request: Request, model: str) -> Response:
        async def handle() -> tuple[Response, str, str | None]:
            body = await read_body(request, limit)
            loaded = await server.serving(model)
            rows = mlflow.parse(body, request.headers.get("content-type", JSON_TYPE), loaded.spec)
            result = await server.predict(model, rows, spec=loaded.spec, key=_key(request))
            return _named(json_response(mlflow.respond(result.outputs)), result)

        return await _answer(server, "mlflow", model, handle)

    @routes.post("/invocations", tags=["mlflow"])
    async def invocations(request: Request) -> Response:
        """MLflow scoring: dataframe_split, dataframe_records, instances, inputs, or text/csv;
        for ``?model=`` or else the default model (FERRY_DEFAULT_MODEL, or the first served)."""
        return await invoke(request, request.query_params.get("model") or server.default_model)

    @routes.post("/invocations/{model}", tags=["mlflow"])
    async def invocations_for(request: Request, model: str) -> Response:
        """MLflow scoring for the named model."""
        return await invoke(request, model)


def _v2_routes(routes: Routes, server: ModelServer) -> None:
    limit = server.settings.max_body_bytes

    @routes.get("/v2", tags=["v2"])
    async def v2_server() -> dict[str, Any]:
        """Server metadata."""
        return {"name": "ferry", "version": __version__, "extensions": []}

    async def infer(request: Request, model: str, version: str | None) -> Response:
        async def handle() -> tuple[Response, str, str | None]:
            served = server.served_as(model, version)
            loaded = await server.serving(served)
            _check_version(loaded.version, version, model)
            payload = _v2_payload(request, await read_body(request, limit))
            rows, request_id, wanted = v2.parse(payload, loaded.spec, loaded.extra_outputs)
            binary = v2_binary.binary_outputs(payload)
            result = await server.predict(served, rows, request_id, loaded.spec, _key(request))
            body = v2.respond(
                model, result.loaded.version, result.request_id, result.outputs, wanted
            )
            body["parameters"] = {"variant": result.variant}
            if not binary:
                return _named(json_response(body), result)
            content, header = v2_binary.encode_response(body, binary)
            headers = {"Inference-Header-Content-Length": str(header)}
            response = Response(content, media_type="application/octet-stream", headers=headers)
            return _named(response, result)

        return await _answer(server, "v2", model, handle)

    @routes.post("/v2/models/{model}/infer", tags=["v2"])
    async def v2_infer(request: Request, model: str) -> Response:
        """Inference on the live version."""
        return await infer(request, model, None)

    @routes.post(
        "/v2/models/{model}/versions/{version}/infer",
        tags=["v2"],
    )
    async def v2_infer_version(request: Request, model: str, version: str) -> Response:
        """Inference on a named version (it must be the live one)."""
        return await infer(request, model, version)

    async def model_metadata(model: str, version: str | None) -> Response:
        loaded = server.model(server.served_as(model, version)).serving()
        _check_version(loaded.version, version, model)
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
            _check_version(loaded.version, version, model)
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


def _v2_payload(request: Request, body: bytes) -> Any:
    """A v2 request's JSON, with binary tensor data (tritonclient's binary_data=True) decoded."""
    length = request.headers.get(v2_binary.HEADER)
    return parse_json(body) if length is None else v2_binary.split_request(body, length)


def _check_version(serving: str, asked: str | None, model: str) -> None:
    if asked is not None and asked != serving:
        raise NotFound(f"{model} version {asked} is not served here; the live version is {serving}")


def _kserve_routes(routes: Routes, server: ModelServer) -> None:
    limit = server.settings.max_body_bytes

    @routes.post("/v1/models/{model}:predict", tags=["kserve"])
    async def kserve_predict(request: Request, model: str) -> Response:
        """KServe v1 prediction: ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out."""

        async def handle() -> tuple[Response, str, str | None]:
            body = await read_body(request, limit)
            loaded = await server.serving(model)
            rows = kserve.parse(body, loaded.spec)
            result = await server.predict(model, rows, spec=loaded.spec, key=_key(request))
            return _named(json_response(kserve.respond(result.outputs)), result)

        return await _answer(server, "kserve", model, handle)

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
