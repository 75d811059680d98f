"""The pieces an operation is described with: a JSON body, the answers, the errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry.registry.refs import ALIAS_PATTERN, NAME_PATTERN, VERSION_PATTERN

JSON = "application/json"
Schema = dict[str, Any]

SCALAR: Schema = {"type": ["number", "string", "boolean"], "description": "one feature's value"}
NAME: Schema = {"type": "string", "pattern": NAME_PATTERN.pattern, "example": "churn"}
ALIAS: Schema = {"type": "string", "pattern": ALIAS_PATTERN.pattern, "example": "production"}
VERSION: Schema = {"type": "string", "pattern": VERSION_PATTERN.pattern, "example": "1.0.0"}
OPTIONAL_TEXT: Schema = {"type": ["string", "null"]}

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 400: "Malformed request: the message names the field",
    401: "The API token is missing or wrong", 404: "No such model, version or record",
    409: "Conflicts with the current state", 413: "The body is over FERRY_MAX_BODY_BYTES",
    422: "Invalid input: the message names the field", 503: "Not ready or storage unavailable",
    500: "Unexpected error (logged by the server)",
}  # fmt: skip


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Mapping[str, Schema], required: tuple[str, ...] = (), **more: Any) -> Schema:
    """A JSON object with exactly these properties (ferry refuses unknown keys)."""
    schema: Schema = {"type": "object", "properties": dict(properties), **more}
    schema.setdefault("additionalProperties", False)
    if required:
        schema["required"] = list(required)
    return schema


def array(items: Schema, minimum: int = 0, **more: Any) -> Schema:
    """A JSON array of ``items``, at least ``minimum`` long."""
    return {"type": "array", "items": items, **({"minItems": minimum} if minimum else {}), **more}


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers: its body (a component name per media type), its
    answers by status (a JSON component's name, or schemas by media type), its error statuses in
    one error component's shape, its header and query parameters, and whether the API token guards it."""

    body: Mapping[str, str] = field(default_factory=dict)
    example: Any = None
    body_required: bool = True
    answers: Mapping[int, str | Mapping[str, Schema]] = field(default_factory=dict)
    error: str = "Error"
    errors: tuple[int, ...] = ()
    guarded: bool = False
    parameters: tuple[Schema, ...] = ()
    """Header and query parameters (path parameters come from the route's path)."""

    def render(self, secured: bool) -> dict[str, Any]:
        """The operation's OpenAPI fields (beside summary, tags and path parameters)."""
        rendered: dict[str, Any] = {"responses": self._responses(secured)}
        if self.body:
            content = {media: _media(name, self.example if media == JSON else None)
                       for media, name in self.body.items()}  # fmt: skip
            rendered["requestBody"] = {"required": self.body_required, "content": content}
        if self.parameters:
            rendered["parameters"] = list(self.parameters)
        if self.guarded and secured:
            rendered["security"] = [{"token": []}]
        return rendered

    def _responses(self, secured: bool) -> dict[str, Any]:
        responses: dict[str, Any] = {}
        for status, answer in self.answers.items():
            by_media = {JSON: ref(answer)} if isinstance(answer, str) else answer
            content = {media: {"schema": schema} for media, schema in by_media.items()}
            responses[str(status)] = {"description": _REASONS.get(status, "OK"), "content": content}
        statuses = sorted({*self.errors, *((401,) if self.guarded and secured else ())})
        for status in statuses:
            responses[str(status)] = {"description": _REASONS[status],
                                      "content": {JSON: {"schema": ref(self.error)}}}  # fmt: skip
        return responses


def _media(name: str, example: Any) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": ref(name)}
    if example is not None:
        media["example"] = example
    return media
