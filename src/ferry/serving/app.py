"""The HTTP surface of ``ferry serve``: routes, health and readiness.

This is the only place errors become status codes (``STATUS``), shaped per protocol: v2 answers
``{"error"}`` with 400, MLflow ``{"error_code", "message"}``, everything else ``{"error"}``.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ferry import __version__
from ferry.errors import (
    AlreadyExists,
    Conflict,
    FerryError,
    IntegrityError,
    InvalidInput,
    NotFound,
    NotReady,
    TooLarge,
    Unauthorized,
    Unsupported,
)
from ferry.serving.protocols import dump_json, expect_object, mlflow, parse_json, plain, v2
from ferry.serving.server import ModelServer

log = logging.getLogger("ferry.serving")

STATUS: dict[type[FerryError], int] = {
    TooLarge: 413, InvalidInput: 422, Unsupported: 422, NotFound: 404, NotReady: 503,
    Conflict: 409, AlreadyExists: 409, IntegrityError: 409, Unauthorized: 401,
}  # fmt: skip
_JSON = "application/json"
_BODY_SCHEMA = {"type": "object", "additionalProperties": True}


def status_of(error: Exception, protocol: str) -> int:
    """The status code for an error, by the first matching class in ``STATUS``."""
    if isinstance(error, InvalidInput) and protocol in ("v2", "mlflow"):
        return 413 if isinstance(error, TooLarge) else 400
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


def error_response(error: Exception, protocol: str) -> Response:
    """An error as the protocol's JSON body; unexpected errors are logged and hidden."""
    status = status_of(error, protocol)
    message = str(error) if status != 500 else "internal error; see the server log"
    if status == 500:
        log.exception("unexpected error", exc_info=error)
    body = mlflow.error_body(message) if protocol == "mlflow" else v2.error_body(message)
    return _json(body, status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(dump_json(body), status_code=status, media_type=_JSON)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(
            f"the request body is {declared} bytes; the limit is {limit} (FERRY_MAX_BODY_BYTES)"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(
                f"the request body exceeds the limit of {limit} bytes (FERRY_MAX_BODY_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(server: ModelServer) -> FastAPI:
    """The FastAPI application around a :class:`ModelServer`."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(title="ferry", version=__version__, lifespan=lifespan,
                  description="Predictions from the registry's live model versions.")  # fmt: skip
    app.state.server = server
    _prediction_routes(app, server)
    _v2_routes(app, server)
    _health_routes(app, server)
    _admin_routes(app, server)
    return app


async def _answer(
    server: ModelServer,
    protocol: str,
    model: str | None,
    handler: Callable[[], Awaitable[tuple[Response, str]]],
) -> Response:
    """Run one prediction handler, map its errors, and count it in the metrics."""
    started = time.perf_counter()
    server.in_flight += 1
    version = "none"
    try:
        response, version = await handler()
    except Exception as error:
        response = error_response(error, protocol)
    finally:
        server.in_flight -= 1
    label = model or (next(iter(server.live)) if len(server.live) == 1 else "unknown")
    server.metrics.requests.labels(label, version, protocol, str(response.status_code)).inc()
    server.metrics.duration.labels(label, protocol).observe(time.perf_counter() - started)
    return response


def _prediction_routes(app: FastAPI, server: ModelServer) -> None:
    limit = server.settings.max_body_bytes

    @app.post("/predict", tags=["predict"], openapi_extra=_body_doc("records or rows"))
    async def predict(request: Request) -> Response:
        """Plain predictions: ``{"records": [{feature: value}]}`` or ``{"rows": [[...]]}``."""

        async def handle() -> tuple[Response, str]:
            payload = parse_json(await read_body(request, limit))
            loaded = await server.serving(plain.model_of(payload))
            rows = plain.parse(payload, loaded.spec)
            result = await server.predict(loaded.name, rows, request.headers.get("x-request-id"))
            body = plain.respond(result.labels, result.probabilities, result.loaded.name,
                                 result.loaded.version, result.request_id)  # fmt: skip
            return _json(body), result.loaded.version

        return await _answer(server, "plain", request.query_params.get("model"), handle)

    @app.post("/invocations", tags=["mlflow"], openapi_extra=_body_doc("MLflow scoring request"))
    async def invocations(request: Request) -> Response:
        """MLflow scoring: dataframe_split, dataframe_records, instances, inputs, or text/csv."""

        async def handle() -> tuple[Response, str]:
            body = await read_body(request, limit)
            loaded = await server.serving(request.query_params.get("model"))
            rows = mlflow.parse(body, request.headers.get("content-type", _JSON), loaded.spec)
            result = await server.predict(loaded.name, rows)
            return _json(mlflow.respond(result.labels)), result.loaded.version

        return await _answer(server, "mlflow", request.query_params.get("model"), handle)


def _v2_routes(app: FastAPI, server: ModelServer) -> None:
    limit = server.settings.max_body_bytes

    @app.get("/v2", tags=["v2"])
    async def v2_server() -> dict[str, Any]:
        """Server metadata."""
        return {"name": "ferry", "version": __version__, "extensions": []}

    async def infer(request: Request, model: str, version: str | None) -> Response:
        async def handle() -> tuple[Response, str]:
            loaded = await server.serving(model)
            _check_version(loaded.version, version, model)
            rows, request_id, wanted = v2.parse(
                parse_json(await read_body(request, limit)), loaded.spec
            )
            result = await server.predict(model, rows, request_id)
            body = v2.respond(model, result.loaded.version, result.request_id, result.labels,
                              result.probabilities, wanted)  # fmt: skip
            return _json(body), result.loaded.version

        return await _answer(server, "v2", model, handle)

    @app.post(
        "/v2/models/{model}/infer", tags=["v2"], openapi_extra=_body_doc("v2 inference request")
    )
    async def v2_infer(request: Request, model: str) -> Response:
        """Inference on the live version."""
        return await infer(request, model, None)

    @app.post(
        "/v2/models/{model}/versions/{version}/infer",
        tags=["v2"],
        openapi_extra=_body_doc("v2 inference request"),
    )
    async def v2_infer_version(request: Request, model: str, version: str) -> Response:
        """Inference on a named version (it must be the live one)."""
        return await infer(request, model, version)

    async def model_metadata(model: str, version: str | None) -> Response:
        try:
            loaded = server.model(model).serving()
            _check_version(loaded.version, version, model)
        except FerryError as error:
            return error_response(error, "v2")
        body = v2.metadata(
            model, loaded.version, loaded.spec, loaded.runner.backend, loaded.classes
        )
        return _json(body)

    @app.get("/v2/models/{model}", tags=["v2"])
    async def v2_model(model: str) -> Response:
        """Model metadata: versions, platform, inputs and outputs."""
        return await model_metadata(model, None)

    @app.get("/v2/models/{model}/versions/{version}", tags=["v2"])
    async def v2_model_version(model: str, version: str) -> Response:
        """Metadata of a named version (it must be the live one)."""
        return await model_metadata(model, version)

    async def model_ready(model: str, version: str | None) -> Response:
        try:
            loaded = server.model(model).serving()
            _check_version(loaded.version, version, model)
        except NotReady:
            return _json({"name": model, "ready": False}, 503)
        except FerryError as error:
            return error_response(error, "v2")
        return _json({"name": model, "ready": True})

    @app.get("/v2/models/{model}/ready", tags=["v2"])
    async def v2_model_ready(model: str) -> Response:
        """200 once the model is loaded and warmed up, 503 before."""
        return await model_ready(model, None)

    @app.get("/v2/models/{model}/versions/{version}/ready", tags=["v2"])
    async def v2_model_version_ready(model: str, version: str) -> Response:
        """200 when this version is the live one and ready."""
        return await model_ready(model, version)


def _check_version(serving: str, asked: str | None, model: str) -> None:
    if asked is not None and asked != serving:
        raise NotFound(f"{model} version {asked} is not served here; the live version is {serving}")


def _health_routes(app: FastAPI, server: ModelServer) -> None:
    @app.get("/v2/health/live", tags=["health"])
    async def live() -> dict[str, bool]:
        """Liveness: answers as soon as the process runs."""
        return {"live": True}

    @app.get("/v2/health/ready", tags=["health"])
    async def ready() -> Response:
        """Readiness: 200 only when every model is loaded, verified and warmed up."""
        return _json({"ready": server.ready}, 200 if server.ready else 503)

    @app.get("/ping", tags=["mlflow"])
    async def ping() -> Response:
        """MLflow's readiness check."""
        return Response(b"\n", status_code=200 if server.ready else 503)

    @app.get("/health", tags=["mlflow"])
    async def health() -> Response:
        """MLflow's health check."""
        return Response(b"\n", status_code=200 if server.ready else 503)

    @app.get("/model/health", tags=["health"])
    async def model_health() -> dict[str, Any]:
        """Per model: status, version, load and warm-up figures, cache hit, age, last swap."""
        return server.health()

    @app.get("/metrics", tags=["health"])
    async def metrics() -> Response:
        """Prometheus metrics."""
        body = server.metrics.render(list(server.live.values()))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _admin_routes(app: FastAPI, server: ModelServer) -> None:
    token = server.settings.api_token
    limit = server.settings.max_body_bytes

    def authorise(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        given = given or request.headers.get("x-ferry-token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized(
                "this route needs the API token: send 'Authorization: Bearer <FERRY_API_TOKEN>'"
            )

    async def body_of(request: Request, allowed: set[str]) -> dict[str, Any]:
        raw = await read_body(request, limit)
        return expect_object(parse_json(raw) if raw else {}, allowed)

    @app.post("/feedback", tags=["feedback"], openapi_extra=_body_doc("request_id, label, model?"))
    async def feedback(request: Request) -> Response:
        """Ground truth for an earlier prediction, by its request id."""
        try:
            payload = await body_of(request, {"request_id", "label", "model"})
            if not isinstance(payload.get("request_id"), str) or "label" not in payload:
                raise InvalidInput("feedback needs 'request_id' (a string) and 'label'")
            model = server.feedback(payload["request_id"], payload["label"], payload.get("model"))
        except FerryError as error:
            return error_response(error, "plain")
        return _json({"recorded": True, "model": model, "request_id": payload["request_id"]})

    @app.post(
        "/models/{model}/promote",
        tags=["admin"],
        openapi_extra=_body_doc("version, alias?, reason?"),
    )
    async def promote(request: Request, model: str) -> Response:
        """Point an alias (default: the one served) at a version; the server follows it."""
        try:
            authorise(request)
            payload = await body_of(request, {"version", "alias", "reason"})
            if not isinstance(payload.get("version"), str):
                raise InvalidInput("promote needs 'version' (e.g. \"1.4.0\")")
            alias = payload.get("alias") or _served_alias(server, model)
            move = await _in_thread(
                server.registry.set_alias, model, alias, payload["version"], payload.get("reason")
            )
        except FerryError as error:
            return error_response(error, "plain")
        await _refresh_if_served(server, model)
        return _json({"model": model, "alias": alias, "version": payload["version"],
                      "moved": move is not None})  # fmt: skip

    @app.post(
        "/models/{model}/rollback", tags=["admin"], openapi_extra=_body_doc("alias?, reason?")
    )
    async def rollback(request: Request, model: str) -> Response:
        """Move an alias back to its previous version; the server follows it."""
        try:
            authorise(request)
            payload = await body_of(request, {"alias", "reason"})
            alias = payload.get("alias") or _served_alias(server, model)
            move = await _in_thread(server.registry.rollback, model, alias, payload.get("reason"))
        except FerryError as error:
            return error_response(error, "plain")
        await _refresh_if_served(server, model)
        return _json(
            {"model": model, "alias": alias, "from": move.from_version, "to": move.to_version}
        )


def _served_alias(server: ModelServer, model: str) -> str:
    live = server.live.get(model)
    return live.ref.alias if live is not None and live.ref.alias else "production"


async def _refresh_if_served(server: ModelServer, model: str) -> None:
    """Swap now instead of at the next poll when the moved alias is one this server follows."""
    if model in server.live:
        await server.refresh(model)


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function, *args)


def _body_doc(description: str) -> dict[str, Any]:
    return {"requestBody": {"description": description, "required": True,
                            "content": {_JSON: {"schema": _BODY_SCHEMA}}}}  # fmt: skip


def app_from_env() -> FastAPI:
    """The app built from ``FERRY_*`` variables: the factory each uvicorn worker calls."""
    import os

    from ferry.config import ServingSettings

    logging.basicConfig(
        level=os.environ.get("FERRY_LOG_LEVEL", "INFO").upper(),
        format="%(levelname)s:     %(name)s: %(message)s",
    )
    from ferry.registry.registry import Registry

    return create_app(ModelServer(ServingSettings.from_env(), Registry()))
