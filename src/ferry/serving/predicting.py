"""The one prediction path behind every protocol: read, resolve, parse, predict, answer, count.

Each protocol brings an adapter (``serving/protocols/``) that reads its request and shapes its
answer and its errors; everything between is here, once: the body read within the size limit, the
served model and version, the sticky key, the ``X-Ferry-Variant`` header, and the request metrics.
Errors become status codes in ``responses.STATUS`` and bodies in the adapter's shape.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import NotFound
from ferry.serving.protocols import Adapter
from ferry.serving.responses import error_response, read_body
from ferry.serving.server import ModelServer

VARIANT_HEADER = "X-Ferry-Variant"


async def answer(
    server: ModelServer,
    adapter: Adapter,
    request: Request,
    model: str | None,
    version: str | None = None,
) -> Response:
    """Answer one prediction request in ``adapter``'s protocol for ``model`` (and, from a v2
    version path, ``version``, which must be the live one), and count it in the metrics: under
    the served reference that answered, else the one ``model`` names."""
    started = time.perf_counter()
    server.in_flight.requests += 1
    served, answered = "none", None
    try:
        response, served, answered = await _predict(server, adapter, request, model, version)
    except Exception as error:
        response = error_response(error, adapter.name)
    finally:
        in_flight = server.in_flight
        in_flight.requests -= 1
        if in_flight.waiting:  # a batch may be waiting for this one, which failed before it
            in_flight.settled()
    _count(server, adapter.name, answered or model, served, response, time.perf_counter() - started)
    return response


async def _predict(
    server: ModelServer,
    adapter: Adapter,
    request: Request,
    model: str | None,
    version: str | None,
) -> tuple[Response, str, str | None]:
    """The answer, the version that gave it and the served reference's key."""
    body = await read_body(request, server.settings.max_body_bytes)
    name, payload = adapter.target(request, body, model)
    if version is not None and name is not None:
        name = server.served_as(name, version)  # two references of one model, told apart
    loaded = await server.serving(name)
    if version is not None:
        check_version(loaded.version, version, model)
    parsed = adapter.parse(request, payload, loaded)
    result = await server.predict(name, parsed.rows, parsed.request_id, loaded.spec, _key(request))
    response = adapter.respond(result, parsed)
    response.headers[VARIANT_HEADER] = result.variant
    return response, result.loaded.version, result.model


def check_version(serving: str, asked: str | None, model: str | None) -> None:
    """Refuse a version path naming a version other than the live one."""
    if asked is not None and asked != serving:
        raise NotFound(f"{model} version {asked} is not served here; the live version is {serving}")


def _key(request: Request) -> str | None:
    """The sticky key that keeps a user on one variant: ``X-Ferry-Key``, else the request id."""
    return request.headers.get("x-ferry-key") or request.headers.get("x-request-id")


def _count(
    server: ModelServer,
    protocol: str,
    model: str | None,
    version: str,
    response: Response,
    elapsed: float,
) -> None:
    """One request in the metrics, by model, version, variant, protocol and status."""
    if model is None and len(server.live) == 1:
        model = next(iter(server.live))
    label = model if model in server.live else "unknown"  # never a series per unknown name
    variant = response.headers.get(VARIANT_HEADER, "none")
    status = str(response.status_code)
    server.metrics.answered(label, version, variant, protocol, status, elapsed)
