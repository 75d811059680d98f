"""Request and response shapes of the protocols the server speaks, and the adapter each one
offers the prediction path (``serving/predicting.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import orjson
from starlette.responses import Response

from ferry.errors import InvalidInput

if TYPE_CHECKING:
    from starlette.requests import Request

    from ferry.serving.loader import LoadedVersion
    from ferry.serving.server import Prediction

JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A prediction request read by its protocol: the rows, and what shaping the answer needs."""

    rows: np.ndarray
    request_id: str | None = None
    """The id the request gave (None: the server makes one)."""
    model: str = ""
    """The name the request used for the model, where the answer repeats it (v2)."""
    outputs: list[str] | None = None
    """The outputs asked for (v2; None: all)."""
    binary: set[str] | bool = False
    """The outputs to answer as raw bytes (v2's binary extension; True: all)."""


class Adapter(Protocol):
    """One protocol's side of a prediction: which model, the rows, the answer and the errors.

    The prediction path reads the body, calls :meth:`target`, loads the model, calls :meth:`parse`,
    predicts, then :meth:`respond`; an error is answered with :meth:`error_body` (in
    ``responses.failure_response``, which adds a status's headers). No method awaits: the body
    is read once, before.
    """

    name: str
    """The protocol's name: the metrics' ``protocol`` label and the status table's key."""

    def target(self, request: Request, body: bytes, model: str | None) -> tuple[str | None, Any]:
        """The served model the request asks for (``model``, from its path or query, unless the
        body names it) and the body as :meth:`parse` takes it."""
        ...

    def parse(self, request: Request, payload: Any, loaded: LoadedVersion) -> Parsed:
        """The validated rows of ``payload`` for ``loaded``, and what the answer needs."""
        ...

    def respond(self, prediction: Prediction, parsed: Parsed) -> Response:
        """The protocol's answer (the path names the variant in ``X-Ferry-Variant``)."""
        ...

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """The protocol's error body for ``status``."""
        ...


def model_from_path(request: Request, body: bytes, model: str | None) -> tuple[str | None, Any]:
    """:meth:`Adapter.target` for a protocol whose path (or query) names the model and whose body
    never does: ``model`` as given, and the body as it came (``parse`` reads it)."""
    return model, body


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


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON answer."""
    return Response(dump_json(body), status_code=status, media_type=JSON_TYPE)


def error_body(message: str) -> dict[str, Any]:
    """The error shape of every protocol but MLflow's: ``{"error": message}``."""
    return {"error": message}


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
