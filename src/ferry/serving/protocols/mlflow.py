"""MLflow's scoring protocol: ``POST /invocations`` with the four JSON shapes or CSV."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.responses import Response

from ferry.errors import InvalidInput
from ferry.flavors.tasks import Outputs
from ferry.serving.inputs import InputSpec
from ferry.serving.protocols import (
    JSON_TYPE,
    Parsed,
    expect_object,
    json_response,
    model_from_path,
    parse_json,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from ferry.serving.loader import LoadedVersion
    from ferry.serving.server import Prediction

SHAPES = {"dataframe_split", "dataframe_records", "instances", "inputs"}
ERROR_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST", 409: "RESOURCE_CONFLICT", 422: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip
"""MLflow's error code for each status (its ``ERROR_CODE_TO_HTTP_STATUS``, read backwards).

Statuses MLflow has no code for (405, 413) take the generic one of their class."""


def parse(body: bytes, content_type: str, spec: InputSpec) -> np.ndarray:
    """Validated rows from a JSON or CSV invocation."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        return _csv(body, spec)
    payload = expect_object(parse_json(body), SHAPES | {"params"})
    if "params" in payload and not isinstance(payload["params"], dict):
        raise InvalidInput("'params' must be an object of inference parameters")
    shapes = [key for key in SHAPES if key in payload]
    if len(shapes) != 1:
        raise InvalidInput(f"send exactly one of {sorted(SHAPES)}")
    shape = shapes[0]
    data = payload[shape]
    if shape == "dataframe_split":
        split = expect_object(data, {"columns", "data", "index"}, shape)
        if "data" not in split:
            raise InvalidInput("dataframe_split needs 'data' (and 'columns')")
        columns = split.get("columns", list(spec.names or ()))
        return spec.columns(columns, split["data"], "dataframe_split.data")
    if shape == "dataframe_records":
        return spec.records(data, shape)
    return instances(data, spec, shape)


def instances(data: Any, spec: InputSpec, field: str) -> np.ndarray:
    """``instances``/``inputs`` (MLflow's, and KServe v1's): rows, records, or a
    {column: [values]} object."""
    if isinstance(data, dict):
        names = list(data)
        columns = [data[name] if isinstance(data[name], list) else [data[name]] for name in names]
        if len({len(c) for c in columns}) > 1:
            raise InvalidInput(f"every column in {field!r} must have the same number of values")
        return spec.records(
            [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)],
            field,
        )
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return spec.records(data, field)
    if spec.width == 1 and isinstance(data, list) and data and isinstance(data[0], str):
        data = [[value] for value in data]  # one text per row: ["first", "second"]
    return spec.rows(data, field)


def _csv(body: bytes, spec: InputSpec) -> np.ndarray:
    try:
        reader = csv.reader(io.StringIO(body.decode()))
        header, *lines = list(reader)
    except (UnicodeDecodeError, ValueError, csv.Error) as error:
        raise InvalidInput(f"malformed CSV: {error}") from None
    numeric = dict(zip(spec.names, spec.numeric, strict=True)) if spec.names else {}
    kinds = [numeric.get(name, spec.all_numeric) for name in header]
    rows = [
        [_cell(value, kind) for value, kind in zip(line, kinds, strict=False)]
        for line in lines
        if line
    ]
    return spec.columns(header, rows, "the CSV body", "the CSV header")


def _cell(text: str, numeric: bool) -> Any:
    """A CSV cell: a number for numeric features (text stays text so validation names it)."""
    if not text:
        return None
    if not numeric:
        return text
    try:
        return float(text)
    except ValueError:
        return text


def respond(outputs: Outputs) -> dict[str, Any]:
    """``{"predictions": [...]}`` as MLflow answers (a transformer's vectors, for transformers),
    with the task's other outputs (``probabilities``, ``distances``, ``confidence``) and an
    ONNX file's others (by graph name) beside it."""
    named = {name: value.tolist() for name, value in outputs.named().items()}
    if "predictions" not in named:
        named["predictions"] = named.pop("outputs")
    extra = {name: value.tolist() for name, value in outputs.extra.items()}
    return {"predictions": named.pop("predictions"), **named, **extra}


def error_code(status: int) -> str:
    """The MLflow error code clients expect with ``status``."""
    return ERROR_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")


def error_body(message: str, status: int) -> dict[str, Any]:
    """MLflow's error shape, its code matching the status."""
    return {"error_code": error_code(status), "message": message}


class Mlflow:
    """``/invocations``' adapter: JSON or CSV by content type; errors carry MLflow's codes."""

    name = "mlflow"

    target = staticmethod(model_from_path)

    def parse(self, request: Request, payload: Any, loaded: LoadedVersion) -> Parsed:
        content_type = request.headers.get("content-type", JSON_TYPE)
        return Parsed(parse(payload, content_type, loaded.spec))

    def respond(self, prediction: Prediction, parsed: Parsed) -> Response:
        return json_response(respond(prediction.outputs))

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(message, status)


ADAPTER = Mlflow()
