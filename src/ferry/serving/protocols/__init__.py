"""Request and response shapes of the protocols the server speaks."""

from __future__ import annotations

from typing import Any

import orjson

from ferry.errors import InvalidInput


def parse_json(body: bytes) -> Any:
    """Decode a JSON body; a malformed one is the client's error and says where."""
    if not body:
        raise InvalidInput("the request body is empty: send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(
            f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


def dump_json(body: Any) -> bytes:
    """Encode a response body; numpy arrays are written directly, without ``tolist``."""
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def expect_object(payload: Any, allowed: set[str], field: str = "the body") -> dict[str, Any]:
    """A JSON object (the body, or the value of ``field``) whose keys are all in ``allowed``."""
    where = field if field == "the body" else repr(field)
    if not isinstance(payload, dict):
        raise InvalidInput(f"{where} must be a JSON object, got {type(payload).__name__}")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        in_field = "" if field == "the body" else f" in {where}"
        raise InvalidInput(
            f"unknown field {unknown[0]!r}{in_field}; expected one of {sorted(allowed)}"
        )
    return payload
