"""Liveness, readiness, per-model health and Prometheus metrics."""

from __future__ import annotations

from ferry.serving.openapi.parts import Operation, Schema, obj

_OPEN: Schema = {"type": "object"}
"""Figures that grow with features (warm-up, compatibility, rollout, log state): named in
docs/serving.md, left open here so that adding one is not a breaking change."""

SCHEMAS: dict[str, Schema] = {
    "Live": obj({"live": {"const": True}}, ("live",)),
    "Ready": obj({"ready": {"type": "boolean"}}, ("ready",)),
    "ModelHealth": obj(
        {
            "status": {"enum": ["ready", "loading", "failed", "too_old", "age_alert"]},
            "models": {
                "type": "object",
                "additionalProperties": obj(
                    {
                        "status": {"type": "string"},
                        "reference": {"type": "string"},
                        "trained": {"type": "boolean"},
                        "error": {"type": ["string", "null"]},
                        "version": {"type": "string"},
                        "backend": {"type": "string"},
                        "load_ms": {"type": "number"},
                        "warmup_mean_ms": {"type": "number"},
                        "warmup_p95_ms": {"type": "number"},
                        "cache_hit": {"type": "boolean"},
                        "model_age_days": {"type": "number"},
                    },
                    ("status", "reference", "trained", "error", "last_swap"),
                    additionalProperties=True,
                ),
            },
            "prediction_log": _OPEN,
        },
        ("status", "models", "prediction_log"),
    ),
}

OPERATIONS: dict[str, Operation] = {
    "GET /v2/health/live": Operation(answers={200: "Live"}),
    "GET /v2/health/ready": Operation(answers={200: "Ready", 503: "Ready"}),
    "GET /model/health": Operation(answers={200: "ModelHealth"}),
    "GET /metrics": Operation(answers={200: {"text/plain": {"type": "string"}}}),
}
