"""MLflow's scoring protocol: ``POST /invocations[/{model}]``, ``/ping``, ``/health``, ``/version``."""

from __future__ import annotations

import dataclasses

from ferry.serving.openapi.parts import NAME, SCALAR, Operation, Schema, array, obj
from ferry.serving.openapi.predictions import OTHER_OUTPUT, OUTPUTS

ERROR_CODES = ["BAD_REQUEST", "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_DOES_NOT_EXIST",
               "RESOURCE_CONFLICT", "INVALID_PARAMETER_VALUE", "REQUEST_LIMIT_EXCEEDED",
               "INTERNAL_ERROR", "NOT_IMPLEMENTED", "TEMPORARILY_UNAVAILABLE",
               "DEADLINE_EXCEEDED"]  # fmt: skip
EXAMPLE = {"dataframe_split": {"columns": ["age", "plan", "monthly_spend"],
                               "data": [[42, "pro", 31.5]]}}  # fmt: skip
ROWS = array(array(SCALAR), 1, description="rows of values")
RECORDS = array({"type": "object", "additionalProperties": SCALAR}, 1,
                description="{feature: value} objects")  # fmt: skip
COLUMNS: Schema = {"type": "object", "minProperties": 1,
                   "additionalProperties": {"anyOf": [SCALAR, array(SCALAR, 1)]},
                   "description": "{feature: [values]} (or one value each, for one row)"}  # fmt: skip
TENSOR_INPUT: Schema = {"anyOf": [ROWS, RECORDS, COLUMNS, array({"type": "string"}, 1)],
                        "description": "rows, records, columns, or one text per row"}  # fmt: skip
_ONE_OF = [{"required": [shape]} for shape in
           ("dataframe_split", "dataframe_records", "instances", "inputs")]  # fmt: skip

SCHEMAS: dict[str, Schema] = {
    "InvocationRequest": obj(
        {
            "dataframe_split": obj(
                {
                    "columns": array({"type": "string"}),
                    "data": ROWS,
                    "index": {"description": "ignored: rows answer in order"},
                },
                ("data",),
            ),
            "dataframe_records": RECORDS,
            "instances": TENSOR_INPUT,
            "inputs": TENSOR_INPUT,
            "params": {"type": "object", "description": "inference parameters (ignored)"},
        },
        oneOf=_ONE_OF,
        description="Exactly one of dataframe_split, dataframe_records, instances, inputs.",
        examples=[
            EXAMPLE,
            {"dataframe_records": [{"age": 42, "plan": "pro", "monthly_spend": 31.5}]},
        ],
    ),
    "InvocationCsv": {
        "type": "string",
        "description": "a header of feature names, then rows",
        "example": "age,plan,monthly_spend\n42,pro,31.5\n",
    },
    "InvocationResponse": obj(
        OUTPUTS,
        ("predictions",),
        additionalProperties=OTHER_OUTPUT,
        examples=[{"predictions": [1], "probabilities": [[0.2, 0.8]]}],
    ),
    "MlflowError": obj(
        {"error_code": {"enum": ERROR_CODES}, "message": {"type": "string"}},
        ("error_code", "message"),
        examples=[{"error_code": "BAD_REQUEST", "message": "send exactly one of [...]"}],
    ),
    "ServerVersion": obj(
        {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "default_model": NAME,
            "models": array(
                obj({"name": NAME, "version": {"type": ["string", "null"]}}, ("name", "version"))
            ),
        },
        ("name", "version", "default_model", "models"),
    ),
}

_INVOKE = Operation(
    body={"application/json": "InvocationRequest", "text/csv": "InvocationCsv"},
    example=EXAMPLE, answers={200: "InvocationResponse"},
    error="MlflowError", errors=(400, 404, 413, 503),
)  # fmt: skip
_MODEL_QUERY: Schema = {
    "name": "model", "in": "query", "required": False, "schema": NAME,
    "description": "the model to ask; default FERRY_DEFAULT_MODEL, else the first served",
}  # fmt: skip
_EMPTY = {"text/plain": {"type": "string"}}
_PROBE = Operation(answers={200: _EMPTY, 503: _EMPTY})

OPERATIONS: dict[str, Operation] = {
    "POST /invocations": dataclasses.replace(_INVOKE, parameters=(_MODEL_QUERY,)),
    "POST /invocations/{model}": _INVOKE,
    "GET /ping": _PROBE,
    "GET /health": _PROBE,
    "GET /version": Operation(answers={200: "ServerVersion"}),
}
