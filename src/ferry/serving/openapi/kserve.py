"""KServe's v1 protocol: ``GET /v1/models[/{model}]``, ``POST /v1/models/{model}:predict``."""

from __future__ import annotations

from ferry.serving.openapi.mlflow import TENSOR_INPUT
from ferry.serving.openapi.parts import NAME, Operation, Schema, array, obj
from ferry.serving.openapi.predictions import OTHER_OUTPUT, OUTPUTS

EXAMPLE = {"instances": [[42, "pro", 31.5]]}

SCHEMAS: dict[str, Schema] = {
    "V1PredictRequest": obj(
        {"instances": TENSOR_INPUT, "parameters": {"type": "object", "description": "ignored"}},
        ("instances",),
        examples=[EXAMPLE],
    ),
    "V1PredictResponse": obj(
        OUTPUTS,
        ("predictions",),
        additionalProperties=OTHER_OUTPUT,
        examples=[{"predictions": [1], "probabilities": [[0.2, 0.8]]}],
    ),
    "V1ModelStatus": obj(
        {"name": {"type": "string"}, "ready": {"type": "boolean"}}, ("name", "ready")
    ),
    "V1Models": obj({"models": array(NAME)}, ("models",)),
}

OPERATIONS: dict[str, Operation] = {
    "POST /v1/models/{model}:predict": Operation(
        body={"application/json": "V1PredictRequest"},
        example=EXAMPLE,
        answers={200: "V1PredictResponse"},
        errors=(400, 404, 413, 503),
    ),
    "GET /v1/models": Operation(answers={200: "V1Models"}),
    "GET /v1/models/{model}": Operation(
        answers={200: "V1ModelStatus", 503: "V1ModelStatus"}, errors=(404,)
    ),
}
