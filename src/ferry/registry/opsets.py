"""The operator sets an ONNX graph declares, read from its bytes without the onnx package.

Importing onnx costs about half a second, and a server that loads a compiled graph from its
cache needs nothing of it but ``ModelProto.opset_import``: field 8, each entry a domain (field 1)
and a version (field 2). Only the top level of the message is walked; the graph is skipped by
its length, so this costs microseconds whatever the model's size.
"""

from __future__ import annotations

from ferry.errors import InvalidInput

_OPSET_IMPORT = 8
_DOMAIN, _VERSION = 1, 2
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def declared_opsets(graph: bytes) -> dict[str, int]:
    """``{domain: version}`` for every opset the model imports; the default domain is
    ``ai.onnx``. Raises :class:`InvalidInput` when the bytes are not a protobuf message."""
    opsets: dict[str, int] = {}
    for field, value in _fields(memoryview(graph)):
        if field == _OPSET_IMPORT and isinstance(value, memoryview):
            domain, version = "", 0
            for inner, item in _fields(value):
                if inner == _DOMAIN and isinstance(item, memoryview):
                    domain = bytes(item).decode("utf-8", errors="replace")
                elif inner == _VERSION and isinstance(item, int):
                    version = item
            opsets[domain or "ai.onnx"] = version
    return opsets


def _fields(data: memoryview) -> list[tuple[int, int | memoryview]]:
    """The (field number, value) pairs of one message: ints for scalars, views for LEN."""
    found: list[tuple[int, int | memoryview]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, position = _varint(data, position)
            found.append((field, value))
        elif wire == _LEN:
            size, position = _varint(data, position)
            if position + size > len(data):
                raise InvalidInput("not an ONNX model: a field runs past the end of the bytes")
            found.append((field, data[position : position + size]))
            position += size
        elif wire in (_I64, _I32):
            position += 8 if wire == _I64 else 4
        else:
            raise InvalidInput(f"not an ONNX model: unexpected protobuf wire type {wire}")
    return found


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= len(data) or shift > 63:
            raise InvalidInput("not an ONNX model: a truncated number")
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return value, position
