"""``POST /predict``: ``{"records": [...]}`` or ``{"rows": [...]}`` in; predictions out."""

from __future__ import annotations

from typing import Any

import numpy as np

from ferry.errors import InvalidInput
from ferry.flavors.tasks import Outputs
from ferry.serving.inputs import InputSpec
from ferry.serving.protocols import expect_object

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
