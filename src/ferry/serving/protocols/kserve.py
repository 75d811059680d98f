"""KServe's v1 protocol: ``GET /v1/models/{name}``, ``POST /v1/models/{name}:predict``.

A request is ``{"instances": [...]}`` (rows, records or a column object, as MLflow's
``instances``); the answer is ``{"predictions": [...]}`` with the task's other outputs beside it;
errors are ``{"error": message}``, as KServe's own model server writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.responses import Response

from ferry.errors import InvalidInput
from ferry.flavors.tasks import Outputs
from ferry.serving.inputs import InputSpec
from ferry.serving.protocols import (
    Parsed,
    error_body,
    expect_object,
    json_response,
    mlflow,
    model_from_path,
    parse_json,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from ferry.serving.loader import LoadedVersion
    from ferry.serving.server import Prediction


def parse(body: bytes, spec: InputSpec) -> np.ndarray:
    """Validated rows from a v1 predict request."""
    payload = expect_object(parse_json(body), {"instances", "parameters"})
    if "instances" not in payload:
        raise InvalidInput("a KServe v1 request needs 'instances': a list of rows or records")
    if "parameters" in payload and not isinstance(payload["parameters"], dict):
        raise InvalidInput("'parameters' must be an object")
    return mlflow.instances(payload["instances"], spec, "instances")


def respond(outputs: Outputs) -> dict[str, Any]:
    """``{"predictions": [...]}`` and the task's other outputs (``probabilities`` ...)."""
    return mlflow.respond(outputs)


def model_status(name: str, ready: bool) -> dict[str, Any]:
    """The v1 model status body."""
    return {"name": name, "ready": ready}


class Kserve:
    """``/v1/models/{name}:predict``'s adapter."""

    name = "kserve"

    target = staticmethod(model_from_path)

    def parse(self, request: Request, payload: Any, loaded: LoadedVersion) -> Parsed:
        return Parsed(parse(payload, loaded.spec))

    def respond(self, prediction: Prediction, parsed: Parsed) -> Response:
        return json_response(respond(prediction.outputs))

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(message)


ADAPTER = Kserve()
