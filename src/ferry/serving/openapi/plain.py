"""``POST /predict``: records or rows in, the task's outputs and who answered out."""

from __future__ import annotations

from ferry.serving.openapi.parts import NAME, SCALAR, Operation, Schema, array, obj
from ferry.serving.openapi.predictions import OTHER_OUTPUT, OUTPUTS

EXAMPLE = {"records": [{"age": 42, "plan": "pro", "monthly_spend": 31.5}]}

SCHEMAS: dict[str, Schema] = {
    "PredictRequest": obj(
        {
            "records": array(
                {"type": "object", "additionalProperties": SCALAR},
                1,
                description="one {feature: value} object per row",
            ),
            "rows": array(
                array(SCALAR),
                1,
                description="one list of values per row, in the input schema's order",
            ),
            "model": {
                **NAME,
                "type": ["string", "null"],
                "description": "the model to ask (needed when several are served)",
            },
        },
        oneOf=[{"required": ["records"]}, {"required": ["rows"]}],
        description="Send either records or rows.",
        examples=[EXAMPLE, {"rows": [[42, "pro", 31.5]]}],
    ),
    "PredictResponse": obj(
        {
            **OUTPUTS,
            "named_outputs": {
                "type": "object",
                "additionalProperties": OTHER_OUTPUT,
                "description": "an ONNX file's outputs beyond its task's, by graph name",
            },
            "model": {"type": "string"},
            "version": {"type": "string", "description": "the version that answered"},
            "request_id": {
                "type": "string",
                "description": "X-Request-Id, or a new one; give it to POST /feedback",
            },
            "variant": {"type": "string", "description": "primary, or candidate during a rollout"},
        },
        ("model", "version", "request_id", "variant"),
        examples=[
            {
                "predictions": [1],
                "probabilities": [[0.2, 0.8]],
                "model": "churn",
                "version": "1.4.0",
                "request_id": "5f0c...",
                "variant": "primary",
            }
        ],
    ),
    "Error": obj(
        {
            "error": {"type": "string", "description": "what is wrong and what to do"},
            "run_id": {"type": "string", "description": "POST /train: the run already going"},
        },
        ("error",),
        examples=[{"error": "record 0 is missing feature 'age'"}],
    ),
}

OPERATIONS: dict[str, Operation] = {
    "POST /predict": Operation(
        body={"application/json": "PredictRequest"},
        example=EXAMPLE,
        answers={200: "PredictResponse"},
        errors=(404, 413, 422, 503),
    ),
}
