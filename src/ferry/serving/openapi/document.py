"""Assemble the OpenAPI 3.1 document from the declared routes and each protocol's schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ferry.serving.openapi import admin, health, kserve, mlflow, plain, v2
from ferry.serving.openapi.parts import NAME, VERSION, Operation, Schema

MODULES = (plain, mlflow, v2, kserve, health, admin)
PARAMETERS: dict[str, Schema] = {"model": NAME, "name": NAME, "version": VERSION,
                                 "run_id": {"type": "string", "minLength": 1}}  # fmt: skip
"""Path parameters by name: what the server accepts in each."""


@dataclass(frozen=True)
class Described:
    """One declared route, as the document needs it."""

    method: str
    path: str
    summary: str
    description: str
    tags: list[str]
    operation_id: str
    status_code: int = 200


def operations() -> dict[str, Operation]:
    """Every documented operation, keyed ``"METHOD /path"``."""
    merged: dict[str, Operation] = {}
    for module in MODULES:
        merged.update(module.OPERATIONS)
    return merged


def schemas() -> dict[str, Schema]:
    """Every component schema, by name."""
    merged: dict[str, Schema] = {}
    for module in MODULES:
        merged.update(module.SCHEMAS)
    return merged


def build(info: Mapping[str, str], routes: Iterable[Described], secured: bool) -> dict[str, Any]:
    """The document: each route's operation, the shared schemas, and the token scheme."""
    known = operations()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = known.get(f"{route.method} {route.path}")
        rendered = (
            operation.render(secured)
            if operation is not None
            else {"responses": {str(route.status_code): {"description": "OK"}}}
        )
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, rendered)
    components: dict[str, Any] = {"schemas": schemas()}
    if secured:
        components["securitySchemes"] = {"token": {
            "type": "http", "scheme": "bearer",
            "description": "FERRY_API_TOKEN (X-Ferry-Token works too)"}}  # fmt: skip
    return {"openapi": "3.1.0", "info": dict(info), "paths": paths, "components": components}


def _operation(route: Described, rendered: dict[str, Any]) -> dict[str, Any]:
    parameters = [_path_parameter(name) for name in re.findall(r"{(\w+)}", route.path)]
    return {
        "summary": route.summary, "description": route.description, "tags": route.tags,
        "operationId": route.operation_id, **rendered,
        "parameters": parameters + rendered.get("parameters", []),
    }  # fmt: skip


def _path_parameter(name: str) -> dict[str, Any]:
    schema = PARAMETERS.get(name, {"type": "string"})
    return {"name": name, "in": "path", "required": True, "schema": schema}
