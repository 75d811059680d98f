"""How the server answers: JSON bodies, errors shaped per protocol, bounded request bodies.

This is the only place errors become status codes (``STATUS``), shaped by each protocol's
adapter: v2 and KServe v1 answer ``{"error"}`` with 400, MLflow ``{"error_code", "message"}`` (the
code matching the status), everything else ``{"error"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import (
    AlreadyExists,
    Conflict,
    FerryError,
    IntegrityError,
    InvalidInput,
    NotFound,
    NotReady,
    RunInProgress,
    StorageUnavailable,
    TooLarge,
    Unauthorized,
    Unsupported,
)
from ferry.serving.protocols import JSON_TYPE as JSON_TYPE
from ferry.serving.protocols import Adapter, dump_json, kserve, mlflow, plain, v2
from ferry.serving.protocols import json_response as json_response

log = logging.getLogger("ferry.serving")

STATUS: dict[type[FerryError], int] = {
    TooLarge: 413, InvalidInput: 422, Unsupported: 422, NotFound: 404, NotReady: 503,
    Conflict: 409, AlreadyExists: 409, IntegrityError: 409, Unauthorized: 401,
    StorageUnavailable: 503,
}  # fmt: skip
ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (plain.ADAPTER, mlflow.ADAPTER, v2.ADAPTER, kserve.ADAPTER)
}
"""Each protocol's adapter by its name."""
INTERNAL_MESSAGE = "internal error; see the server log"


def status_of(error: Exception, protocol: str) -> int:
    """The status code for an error, by the first matching class in ``STATUS``."""
    if isinstance(error, InvalidInput) and protocol in ("v2", "mlflow", "kserve"):
        return 413 if isinstance(error, TooLarge) else 400
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


def error_response(error: Exception, protocol: str) -> Response:
    """An error as the protocol's JSON body; unexpected errors are logged and hidden."""
    status = status_of(error, protocol)
    if status == 500:
        log.error("unexpected error", exc_info=error)
        return failure_response(status, INTERNAL_MESSAGE, protocol)
    # a refused POST /train says which run to follow instead: GET /runs/{run_id}
    extra = {"run_id": error.run_id} if isinstance(error, RunInProgress) else None
    return failure_response(status, str(error), protocol, extra=extra)


def failure_response(
    status: int,
    message: str,
    protocol: str,
    headers: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A JSON error body in the protocol's shape (MLflow's carries the code for ``status``),
    with ``extra`` fields beside the message."""
    body = ADAPTERS[protocol].error_body(status, message)
    body.update(extra or {})
    return Response(dump_json(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def protocol_of(path: str) -> str:
    """The protocol a path belongs to, for errors answered outside a prediction route."""
    path = path.rstrip("/")
    mlflow_paths = ("/ping", "/health", "/invocations")
    if path in mlflow_paths or path.startswith("/invocations/"):
        return "mlflow"
    if path == "/v2" or path.startswith("/v2/"):
        return "v2"
    return "kserve" if path.startswith("/v1/") else "plain"


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
