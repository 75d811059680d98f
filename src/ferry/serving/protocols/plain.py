"""``POST /predict``: ``{"records": [...]}`` or ``{"rows": [...]}`` in; predictions out."""

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
    parse_json,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from ferry.serving.loader import LoadedVersion
    from ferry.serving.server import Prediction

FIELDS = {"records", "rows", "model"}


def model_of(payload: Any) -> str | None:
    """The model a request names (optional when one model is served)."""
    name = payload.get("model") if isinstance(payload, dict) else None
    if name is not None and not isinstance(name, str):
        raise InvalidInput("'model' must be a model name string")
    return name


def parse(payload: Any, spec: InputSpec) -> np.ndarray:
    """Validated rows from a plain request."""
    body = expect_object(payload, FIELDS)
    if "records" in body and "rows" in body:
        raise InvalidInput("send either 'records' or 'rows', not both")
    if "records" in body:
        return spec.records(body["records"])
    if "rows" in body:
        return spec.rows(body["rows"])
    raise InvalidInput(
        "the body needs 'records' (a list of {feature: value}) or 'rows' (a list of lists)"
    )


def respond(outputs: Outputs, model: str, version: str, request_id: str) -> dict[str, Any]:
    """The plain answer: the task's outputs (``predictions``, ``probabilities``, ``distances``,
    ``confidence``, ``outputs``), an ONNX file's others in ``named_outputs`` (by graph name),
    then who answered."""
    answer: dict[str, Any] = {name: value.tolist() for name, value in outputs.named().items()}
    if outputs.extra:
        answer["named_outputs"] = {name: value.tolist() for name, value in outputs.extra.items()}
    answer.update(model=model, version=version, request_id=request_id)
    return answer


class Plain:
    """``POST /predict``'s adapter: the body may name the model; the answer names the variant."""

    name = "plain"

    def target(self, request: Request, body: bytes, model: str | None) -> tuple[str | None, Any]:
        """The model the body names (a model's name, or a further reference of it): ``?model=``
        only labels the metrics."""
        payload = parse_json(body)
        return model_of(payload), payload

    def parse(self, request: Request, payload: Any, loaded: LoadedVersion) -> Parsed:
        return Parsed(parse(payload, loaded.spec), request.headers.get("x-request-id"))

    def respond(self, prediction: Prediction, parsed: Parsed) -> Response:
        loaded = prediction.loaded
        body = respond(prediction.outputs, loaded.name, loaded.version, prediction.request_id)
        return json_response({**body, "variant": prediction.variant})

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(message)


ADAPTER = Plain()
