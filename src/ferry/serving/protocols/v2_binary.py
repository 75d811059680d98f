"""The v2 binary tensor extension (tritonclient's ``binary_data=True``), for inputs and outputs.

A request whose ``Inference-Header-Content-Length`` header is set carries that many bytes of JSON
followed by the raw bytes of every input whose ``parameters.binary_data_size`` says so, in
order; fixed-size types are little-endian, ``BYTES`` elements are each a 4-byte little-endian
length and the bytes. Outputs asked for with ``parameters.binary_data`` (or all of them with the
request's ``binary_data_output``) come back the same way.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ferry.errors import InvalidInput
from ferry.serving.protocols import dump_json, parse_json
from ferry.serving.protocols.datatypes import DATATYPES

HEADER = "inference-header-content-length"


def split_request(body: bytes, header_length: str) -> Any:
    """The JSON request with each binary input's bytes decoded into its ``data``."""
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInput(
            f"Inference-Header-Content-Length {header_length!r} is not a number"
        ) from None
    if not 0 < length <= len(body):
        raise InvalidInput(
            f"Inference-Header-Content-Length {length} does not fit the {len(body)}-byte body"
        )
    payload = parse_json(body[:length])
    offset = length
    for tensor in _binary_inputs(payload):
        size = tensor["parameters"].pop("binary_data_size")
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise InvalidInput(f"input {tensor.get('name')!r}: binary_data_size {size!r} is wrong")
        tensor["data"] = _decode(body[offset : offset + size], tensor)
        offset += size
    if offset != len(body):
        raise InvalidInput(f"{len(body) - offset} bytes after the last binary input")
    return payload


def _binary_inputs(payload: Any) -> list[dict[str, Any]]:
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list):
        return []
    return [
        tensor
        for tensor in inputs
        if isinstance(tensor, dict)
        and isinstance(tensor.get("parameters"), dict)
        and "binary_data_size" in tensor["parameters"]
    ]


def _decode(raw: bytes, tensor: dict[str, Any]) -> Any:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        return _decode_bytes(raw, tensor.get("name"))
    if datatype not in DATATYPES:
        raise InvalidInput(f"input {tensor.get('name')!r}: unknown datatype {datatype!r}")
    dtype = np.dtype(DATATYPES[datatype]).newbyteorder("<")
    if len(raw) % dtype.itemsize:
        raise InvalidInput(f"input {tensor.get('name')!r}: {len(raw)} bytes are not {datatype}s")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))


def _decode_bytes(raw: bytes, name: Any) -> list[str]:
    values, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(f"input {name!r}: a BYTES element is cut short")
        (size,) = struct.unpack_from("<I", raw, offset)
        chunk = raw[offset + 4 : offset + 4 + size]
        if len(chunk) != size:
            raise InvalidInput(f"input {name!r}: a BYTES element is cut short")
        try:
            values.append(chunk.decode())
        except UnicodeDecodeError:
            raise InvalidInput(f"input {name!r}: a BYTES element is not UTF-8 text") from None
        offset += 4 + size
    return values


def binary_outputs(payload: dict[str, Any]) -> set[str] | bool:
    """The outputs a request (checked by ``v2.parse``) asks for in binary; True for all
    (``binary_data_output``)."""
    if payload.get("parameters", {}).get("binary_data_output") is True:
        return True
    return {
        str(output["name"])
        for output in payload.get("outputs") or ()
        if output.get("parameters", {}).get("binary_data") is True
    }


def encode_response(body: dict[str, Any], binary: set[str] | bool) -> tuple[bytes, int]:
    """The response bytes (JSON, then the binary outputs' bytes) and the JSON's length."""
    blobs = []
    for output in body["outputs"]:
        if binary is True or (isinstance(binary, set) and output["name"] in binary):
            raw = _encode(output["data"], output["datatype"])
            del output["data"]
            output["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
    header = dump_json(body)
    return header + b"".join(blobs), len(header)


def _encode(data: list[Any], datatype: str) -> bytes:
    if datatype == "BYTES":
        encoded = [str(value).encode() for value in data]
        return b"".join(struct.pack("<I", len(item)) + item for item in encoded)
    dtype = np.dtype(DATATYPES[datatype]).newbyteorder("<")
    return np.asarray(data, dtype=dtype).tobytes()
