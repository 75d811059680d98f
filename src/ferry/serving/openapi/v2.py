"""The Open Inference Protocol (v2): inference, model and server metadata, readiness."""

from __future__ import annotations

from ferry.serving.openapi.parts import JSON, Operation, Schema, array, obj, ref

DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
             "FP16", "FP32", "FP64", "BYTES"]  # fmt: skip
OUTPUT_NAMES = ["predict", "predict_proba", "distances", "confidence", "outputs"]
EXAMPLE = {
    "id": "42",
    "inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP32", "data": [5.1, 3.5, 1.4]}],
    "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
}
BINARY_HEADER: Schema = {
    "name": "Inference-Header-Content-Length", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
    "description": "binary tensor extension: the length of the JSON header that the body "
                   "starts with; the inputs' raw bytes follow it",
}  # fmt: skip
_SHAPE = array({"type": "integer", "minimum": 0}, 1)
_PARAMETERS: Schema = {"type": "object", "description": "binary_data_size, binary_data, ..."}
_NESTED: Schema = {"type": "array", "description": "flat, or nested as the shape says"}
_TENSOR = obj({"name": {"type": "string"}, "datatype": {"enum": DATATYPES},
               "shape": array({"type": "integer"})}, ("name", "datatype", "shape"))  # fmt: skip

SCHEMAS: dict[str, Schema] = {
    "InferenceRequest": obj(
        {
            "id": {"type": "string"},
            "parameters": {
                **_PARAMETERS,
                "description": "binary_data_output: true asks every output in binary",
            },
            "inputs": array(
                obj(
                    {
                        "name": {"type": "string"},
                        "shape": _SHAPE,
                        "datatype": {"enum": DATATYPES},
                        "data": _NESTED,
                        "parameters": _PARAMETERS,
                    },
                    ("name", "shape", "datatype", "data"),
                ),
                1,
                description="one tensor of all features, or one [rows] tensor per named feature",
            ),
            "outputs": array(
                obj({"name": {"enum": OUTPUT_NAMES}, "parameters": _PARAMETERS}, ("name",)),
                description="the outputs wanted (default: all)",
            ),
        },
        ("inputs",),
        examples=[EXAMPLE],
    ),
    "InferenceBinaryRequest": {
        "type": "string",
        "format": "binary",
        "description": "JSON header, then each input's raw bytes",
    },
    "InferenceResponse": obj(
        {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": obj({"variant": {"type": "string"}}, ("variant",)),
            "outputs": array(
                obj(
                    {
                        "name": {"enum": OUTPUT_NAMES},
                        "datatype": {"enum": DATATYPES},
                        "shape": _SHAPE,
                        "data": array({}),
                        "parameters": obj({"binary_data_size": {"type": "integer"}}),
                    },
                    ("name", "datatype", "shape"),
                )
            ),
        },
        ("model_name", "model_version", "id", "outputs"),
    ),
    "ModelMetadata": obj(
        {
            "name": {"type": "string"},
            "versions": array({"type": "string"}),
            "platform": {"type": "string", "examples": ["ferry-onnx", "ferry-native"]},
            "inputs": array(_TENSOR),
            "outputs": array(_TENSOR),
        },
        ("name", "versions", "platform", "inputs", "outputs"),
    ),
    "ModelReady": obj(
        {"name": {"type": "string"}, "ready": {"type": "boolean"}}, ("name", "ready")
    ),
    "ServerMetadata": obj(
        {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "extensions": array({"type": "string"}),
        },
        ("name", "version", "extensions"),
    ),
}

_INFER = Operation(
    body={"application/json": "InferenceRequest",
          "application/octet-stream": "InferenceBinaryRequest"},
    example=EXAMPLE, parameters=(BINARY_HEADER,),
    answers={200: {JSON: ref("InferenceResponse"),
                   "application/octet-stream": {"type": "string", "format": "binary"}}},
    errors=(400, 404, 413, 503),
)  # fmt: skip
_METADATA = Operation(answers={200: "ModelMetadata"}, errors=(404, 503))
_READY = Operation(answers={200: "ModelReady", 503: "ModelReady"}, errors=(404,))

OPERATIONS: dict[str, Operation] = {
    "GET /v2": Operation(answers={200: "ServerMetadata"}),
    "POST /v2/models/{model}/infer": _INFER,
    "POST /v2/models/{model}/versions/{version}/infer": _INFER,
    "GET /v2/models/{model}": _METADATA,
    "GET /v2/models/{model}/versions/{version}": _METADATA,
    "GET /v2/models/{model}/ready": _READY,
    "GET /v2/models/{model}/versions/{version}/ready": _READY,
}
