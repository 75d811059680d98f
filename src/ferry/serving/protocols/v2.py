"""Open Inference Protocol v2 (KServe / Triton) over REST, JSON tensors.

One input tensor ``[rows, features]`` (any name), or one tensor per feature named after it
(``[rows]`` or ``[rows, 1]``); a text model takes one ``BYTES`` tensor of strings. ``data`` may
be flat or nested. Outputs by task: ``predict`` (and ``predict_proba`` for classifiers;
``distances`` and ``confidence`` for clusterers), or ``outputs`` for transformers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    model_from_path,
    parse_json,
    v2_binary,
)
from ferry.serving.protocols.datatypes import DATATYPES

if TYPE_CHECKING:
    from starlette.requests import Request

    from ferry.serving.loader import LoadedVersion
    from ferry.serving.server import Prediction

OUTPUT_NAMES = {
    "predictions": "predict", "probabilities": "predict_proba", "distances": "distances",
    "confidence": "confidence", "outputs": "outputs",
}  # fmt: skip
"""The v2 tensor name of each task output."""
OUTPUTS = tuple(OUTPUT_NAMES.values())
_ACCEPTS = {"b": "b", "i": "iuf", "u": "iuf", "f": "iuf"}
"""The numpy kinds of JSON data each datatype's kind takes (floats only when whole, for integers)."""
_EXPECTED = {"b": "true/false", "i": "integers", "u": "integers", "f": "numbers"}


def parse(
    payload: Any, spec: InputSpec, extra: Sequence[str] = ()
) -> tuple[np.ndarray, str | None, list[str] | None]:
    """Validated rows, the request id, and the outputs asked for (None = all): the task's, or
    ``extra`` outputs of an ONNX file by their graph names."""
    body = expect_object(payload, {"id", "inputs", "outputs", "parameters"})
    _parameters(body, "the request")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("'inputs' must be a non-empty list of tensors")
    tensors = [_tensor(item, index) for index, item in enumerate(inputs)]
    rows = _single(tensors[0], spec) if len(tensors) == 1 else _per_feature(tensors, spec)
    return rows, _request_id(body.get("id")), _requested(body.get("outputs"), extra)


def _tensor(item: Any, index: int) -> tuple[str, np.ndarray]:
    tensor = expect_object(item, {"name", "shape", "datatype", "data", "parameters"})
    for key in ("name", "shape", "datatype", "data"):
        if key not in tensor:
            raise InvalidInput(f"input {index} has no {key!r}")
    name, shape, datatype = tensor["name"], tensor["shape"], tensor["datatype"]
    if not isinstance(name, str):
        raise InvalidInput(f"input {index}: 'name' must be a string")
    _parameters(tensor, f"input {name!r}")
    if not isinstance(tensor["data"], list | np.ndarray):  # an array once binary data is read
        raise InvalidInput(f"input {name!r}: 'data' must be a list of values")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r}")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidInput(
            f"input {name!r}: shape must be a non-empty list of non-negative integers"
        )
    flat = _values(tensor["data"], name, datatype).ravel()
    if flat.size != math.prod(shape):  # Python integers: a huge shape cannot wrap around
        raise InvalidInput(f"input {name!r}: {flat.size} values do not fill shape {shape}")
    if flat.size == 0:
        raise InvalidInput(f"input {name!r} is empty: send at least one row")
    return str(name), flat.reshape(shape)


def _values(data: Any, name: str, datatype: str) -> np.ndarray:
    """``data`` as an array of ``datatype``, refusing values of another kind or out of range
    rather than letting numpy turn 1.5 into 1, "abc" into True or 1e6 into an FP16 infinity."""
    target = np.dtype(DATATYPES[datatype])
    if datatype == "BYTES":
        return np.asarray(data, dtype=object)  # cells are checked against the schema later
    try:
        raw = np.asarray(data)
    except ValueError:
        raise InvalidInput(
            f"input {name!r}: 'data' must be a flat or evenly nested list of values"
        ) from None
    if raw.dtype.kind == "O":  # null, objects or integers past 64 bits
        if any(value is None for value in raw.ravel()):
            raise InvalidInput(f"input {name!r}: 'data' holds null; send a value for each")
        return _cast(raw, name, datatype)
    if raw.size and not _holds(raw, target):
        raise InvalidInput(
            f"input {name!r}: data does not match datatype {datatype}: "
            f"send {_EXPECTED[target.kind]}"
        )
    if target.kind in "iu" and raw.size and not _fits(raw, target):
        raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}")
    return _cast(raw, name, datatype)


def _holds(raw: np.ndarray, target: np.dtype[Any]) -> bool:
    """True when ``raw``'s values are of ``target``'s kind (whole numbers for integers)."""
    if raw.dtype.kind not in _ACCEPTS[target.kind]:
        return False
    return target.kind not in "iu" or raw.dtype.kind != "f" or bool(np.all(np.mod(raw, 1) == 0))


def _cast(raw: np.ndarray, name: str, datatype: str) -> np.ndarray:
    try:
        with np.errstate(over="raise", invalid="raise"):
            return raw.astype(DATATYPES[datatype])
    except FloatingPointError:
        raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}") from None
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"input {name!r}: data does not match datatype {datatype} or is out of its range"
        ) from None


def _fits(raw: np.ndarray, target: np.dtype[Any]) -> bool:
    limits = np.iinfo(target)
    return bool(raw.min() >= limits.min and raw.max() <= limits.max)


def _single(tensor: tuple[str, np.ndarray], spec: InputSpec) -> np.ndarray:
    name, array = tensor
    if array.ndim == 1:
        array = array.reshape(-1, 1) if spec.width == 1 else array.reshape(1, -1)
    rows = array.reshape(array.shape[0], -1)
    if rows.shape[1] != spec.width:
        raise InvalidInput(
            f"input {name!r} has {rows.shape[1]} features per row; this model takes {spec.width}"
        )
    return spec.rows(rows.tolist())


def _per_feature(tensors: list[tuple[str, np.ndarray]], spec: InputSpec) -> np.ndarray:
    if spec.names is None:
        raise InvalidInput("this model takes one tensor; send a single input")
    for name, array in tensors:
        if array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1):
            raise InvalidInput(
                f"input {name!r}: a per-feature tensor has shape [rows] or [rows, 1]"
            )
    by_name = {name: array.ravel() for name, array in tensors}
    if len(by_name) != len(tensors):
        raise InvalidInput("two input tensors have the same name")
    records_count = {len(array) for array in by_name.values()}
    if len(records_count) != 1:
        raise InvalidInput("every input tensor must have the same number of rows")
    names = list(by_name)
    columns = [by_name[name].tolist() for name in names]
    return spec.records(
        [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    )


def _parameters(holder: dict[str, Any], where: str) -> None:
    """``parameters``, when present, is an object (the binary extension reads it later)."""
    if "parameters" in holder and not isinstance(holder["parameters"], dict):
        raise InvalidInput(f"{where}: 'parameters' must be an object")


def _request_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput("'id' must be a string")


def _requested(outputs: Any, extra: Sequence[str]) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list of {\"name\": ...}")
    for index, output in enumerate(outputs):
        _parameters(expect_object(output, {"name", "parameters"}, f"outputs[{index}]"),
                    f"output {index}")  # fmt: skip
    names = [output.get("name") for output in outputs]
    known = [*OUTPUTS, *extra]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(f"unknown output {unknown[0]!r}; this model has {known}")
    return [str(n) for n in names]


def datatype_of(array: np.ndarray) -> str:
    """The v2 datatype name of a numpy array."""
    if array.dtype.kind in "OUS":
        return "BYTES"
    for name, kind in DATATYPES.items():
        if array.dtype == np.dtype(kind):
            return name
    return "FP64"


def _output(name: str, array: np.ndarray) -> dict[str, Any]:
    data = (
        array.ravel().tolist() if array.dtype.kind not in "OUS" else [str(v) for v in array.ravel()]
    )
    return {"name": name, "datatype": datatype_of(array), "shape": list(array.shape), "data": data}


def respond(
    model: str, version: str, request_id: str, outputs: Outputs, requested: list[str] | None
) -> dict[str, Any]:
    """The inference response with the outputs asked for."""
    available = {OUTPUT_NAMES[name]: value for name, value in outputs.named().items()}
    available.update(outputs.extra)  # an ONNX file's other outputs, by their graph names
    wanted = requested or list(available)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise InvalidInput(
            f"output {missing[0]!r} is not available for this model; it has {list(available)}"
        )
    tensors = [_output(name, available[name]) for name in wanted]
    return {"model_name": model, "model_version": version, "id": request_id, "outputs": tensors}


def metadata(
    model: str, version: str, spec: InputSpec, backend: str, output_schema: dict[str, Any]
) -> dict[str, Any]:
    """Model metadata: name, versions, platform, input and output tensors by task."""
    datatype = "FP32" if spec.all_numeric else "BYTES"
    classes = output_schema.get("classes")
    names = output_schema.get("outputs") or ["predictions"]
    outputs = [_output_metadata(name, classes, output_schema) for name in names]
    return {
        "name": model,
        "versions": [version],
        "platform": f"ferry-{backend}",
        "inputs": [{"name": "input-0", "datatype": datatype, "shape": [-1, spec.width]}],
        "outputs": outputs,
    }


def _output_metadata(
    name: str, classes: list[Any] | None, output_schema: dict[str, Any]
) -> dict[str, Any]:
    """One output tensor's name, datatype and shape."""
    extra = output_schema.get("extra_outputs", {}).get(name)
    if extra is not None:  # an ONNX file's other output, by its graph name
        datatype = datatype_of(np.empty(0, dtype=np.dtype(extra["dtype"])))
        return {"name": name, "datatype": datatype, "shape": extra["shape"]}
    if name == "predictions":
        datatype = "FP64"
        if classes and isinstance(classes[0], str):
            datatype = "BYTES"
        elif output_schema.get("task") == "clusterer" or (
            classes is not None and all(isinstance(c, int) for c in classes)
        ):
            datatype = "INT64"
        return {"name": "predict", "datatype": datatype, "shape": [-1]}
    width = {
        "probabilities": len(classes) if classes is not None else output_schema.get("n_classes"),
        "distances": output_schema.get("n_clusters"),
        "outputs": output_schema.get("width"),
    }.get(name)
    shape = [-1] if name == "confidence" else [-1, width if width else -1]
    return {"name": OUTPUT_NAMES.get(name, name), "datatype": "FP64", "shape": shape}


class V2:
    """The v2 ``infer`` routes' adapter: JSON tensors, or binary ones (tritonclient's
    ``binary_data``); the answer repeats the model's name as the path gave it."""

    name = "v2"

    target = staticmethod(model_from_path)

    def parse(self, request: Request, payload: Any, loaded: LoadedVersion) -> Parsed:
        length = request.headers.get(v2_binary.HEADER)
        body = parse_json(payload) if length is None else v2_binary.split_request(payload, length)
        rows, request_id, wanted = parse(body, loaded.spec, loaded.extra_outputs)
        model = request.path_params["model"]
        return Parsed(rows, request_id, model, wanted, v2_binary.binary_outputs(body))

    def respond(self, prediction: Prediction, parsed: Parsed) -> Response:
        body = respond(
            parsed.model, prediction.loaded.version, prediction.request_id, prediction.outputs,
            parsed.outputs,
        )  # fmt: skip
        body["parameters"] = {"variant": prediction.variant}
        if not parsed.binary:
            return json_response(body)
        content, header = v2_binary.encode_response(body, parsed.binary)
        headers = {"Inference-Header-Content-Length": str(header)}
        return Response(content, media_type="application/octet-stream", headers=headers)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return error_body(message)


ADAPTER = V2()
