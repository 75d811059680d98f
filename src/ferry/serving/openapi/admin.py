"""Routes that change things (token-guarded when FERRY_API_TOKEN is set): feedback, alias moves,
training runs and rollouts."""

from __future__ import annotations

from ferry.registry.rollout_plan import AB_METRICS, DISTANCES, MODES
from ferry.serving.openapi.parts import (
    ALIAS,
    JSON,
    NAME,
    OPTIONAL_TEXT,
    VERSION,
    Operation,
    Schema,
    array,
    obj,
)

_ALIAS: Schema = {**ALIAS, "type": ["string", "null"], "description": "default: the alias served"}
_REASON: Schema = {**OPTIONAL_TEXT, "description": "recorded with the move"}
_NUMBER: Schema = {"type": ["number", "null"]}
_INTEGER: Schema = {"type": ["integer", "null"]}

SCHEMAS: dict[str, Schema] = {
    "FeedbackRequest": obj(
        {
            "request_id": {"type": "string", "description": "from the prediction's answer"},
            "label": {
                "type": ["string", "number", "boolean"],
                "description": "the true label or value",
            },
            "model": {
                **NAME,
                "type": ["string", "null"],
                "description": "needed when several models are served",
            },
        },
        ("request_id", "label"),
        examples=[{"request_id": "5f0c2d...", "label": 1}],
    ),
    "FeedbackRecorded": obj(
        {"recorded": {"const": True}, "model": NAME, "request_id": {"type": "string"}},
        ("recorded", "model", "request_id"),
    ),
    "PromoteRequest": obj(
        {"version": VERSION, "alias": _ALIAS, "reason": _REASON},
        ("version",),
        examples=[{"version": "1.4.0", "reason": "better F1"}],
    ),
    "Promoted": obj(
        {
            "model": NAME,
            "alias": {"type": "string"},
            "version": VERSION,
            "moved": {"type": "boolean"},
        },
        ("model", "alias", "version", "moved"),
    ),
    "RollbackRequest": obj({"alias": _ALIAS, "reason": _REASON}),
    "RolledBack": obj(
        {"model": NAME, "alias": {"type": "string"}, "from": VERSION, "to": VERSION},
        ("model", "alias", "from", "to"),
    ),
    "TrainRequest": obj(
        {
            "model": {**NAME, "type": ["string", "null"], "description": "default: the one served"},
            "force": {"type": "boolean", "description": "promote regardless"},
        }
    ),
    "RunQueued": obj(
        {
            "run_id": {"type": "string"},
            "model": NAME,
            "status": {"const": "queued"},
            "url": {"type": "string"},
        },
        ("run_id", "model", "status", "url"),
    ),
    "Run": {"type": "object", "description": "status, step timings, metrics, decision, reason"},
    "RolloutRequest": obj(
        {
            "model": NAME,
            "candidate": VERSION,
            "alias": _ALIAS,
            "reason": _REASON,
            "mode": {"enum": [*MODES, None]},
            "steps": {
                "anyOf": [
                    array({"type": "integer", "minimum": 1, "maximum": 100}, 1),
                    {"type": "string", "pattern": r"^\s*\d+%?(\s*,\s*\d+%?)*\s*$"},
                    {"type": "null"},
                ],
                "description": 'percentages, e.g. [5, 25, 50, 100] or "5,25,50,100"',
            },
            "interval": {"type": ["number", "string", "null"], "description": "seconds or '10m'"},
            "min_requests": _INTEGER,
            "max_error_rate": _NUMBER,
            "max_latency_ratio": _NUMBER,
            "max_latency_ms": _NUMBER,
            "max_disagreement": _NUMBER,
            "failure_limit": _INTEGER,
            "min_samples": _INTEGER,
            "max_samples": _INTEGER,
            "alpha": _NUMBER,
            "metric": {"enum": [*AB_METRICS, None]},
            "min_accuracy": _NUMBER,
            "max_mean_error": _NUMBER,
            "max_distance": _NUMBER,
            "distance": {"enum": [*DISTANCES, None]},
        },
        ("model", "candidate"),
        examples=[
            {
                "model": "churn",
                "candidate": "1.5.0",
                "mode": "canary",
                "steps": [5, 25, 50, 100],
                "interval": "10m",
            }
        ],
    ),
    "RolloutChange": obj({"reason": _REASON}),
    "Rollout": obj(
        {
            "id": {"type": "integer"},
            "model": NAME,
            "alias": {"type": "string"},
            "primary": VERSION,
            "candidate": VERSION,
            "mode": {"enum": list(MODES)},
            "steps": array({"type": "integer"}),
            "step": {"type": "integer"},
            "percent": {"type": "integer"},
            "state": {"type": "string"},
            "history": array({"type": "object"}),
        },
        ("id", "model", "alias", "primary", "candidate", "mode", "steps", "percent", "state"),
        additionalProperties=True,
    ),
    "Rollouts": obj({"rollouts": array({"$ref": "#/components/schemas/Rollout"})}, ("rollouts",)),
}


def _guarded(answers: dict[int, str], body: str | None = None, required: bool = True) -> Operation:
    """A token-guarded operation with the errors every admin route may answer."""
    return Operation(
        body={JSON: body} if body else {}, body_required=required, answers=answers,
        errors=(404, 409, 413, 422, 503), guarded=True,
    )  # fmt: skip


OPERATIONS: dict[str, Operation] = {
    "POST /feedback": _guarded({200: "FeedbackRecorded"}, "FeedbackRequest"),
    "POST /models/{model}/promote": _guarded({200: "Promoted"}, "PromoteRequest"),
    "POST /models/{model}/rollback": _guarded({200: "RolledBack"}, "RollbackRequest", False),
    "POST /train": _guarded({202: "RunQueued"}, "TrainRequest", False),
    "GET /runs/{run_id}": _guarded({200: "Run"}),
    "GET /rollouts": _guarded({200: "Rollouts"}),
    "GET /rollouts/{name}": _guarded({200: "Rollout"}),
    "POST /rollouts": _guarded({201: "Rollout"}, "RolloutRequest"),
    "POST /rollouts/{name}/promote": _guarded({200: "Rollout"}, "RolloutChange", False),
    "POST /rollouts/{name}/abort": _guarded({200: "Rollout"}, "RolloutChange", False),
}
