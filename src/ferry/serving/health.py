"""The health report of a serving process (``GET /model/health``): per model its status,
version, load and warm-up figures, cache hit, age and last swap; the worst status is the server's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ferry.serving.capture import PredictionLog
    from ferry.serving.live import LiveModel
    from ferry.serving.rollout import RolloutLoop


def report(
    live: Mapping[str, LiveModel], rollouts: RolloutLoop | None, capture: PredictionLog
) -> dict[str, Any]:
    """Every served model's health (with its rollout's, when one runs), the server's overall
    status and the prediction log's state."""
    models = {name: model_health(model) for name, model in live.items()}
    if rollouts is not None:
        for name, entry in models.items():
            entry["rollout"] = rollouts.health(name)
    return {
        "status": overall({entry["status"] for entry in models.values()}),
        "models": models,
        "prediction_log": capture.state.to_dict(),
    }


def overall(statuses: set[str]) -> str:
    """The server's status from its models': the worst one wins."""
    if statuses <= {"ready", "age_alert"}:
        return "ready"
    for status in ("failed", "too_old"):
        if status in statuses:
            return status
    return "loading"


def model_health(live: LiveModel) -> dict[str, Any]:
    """One model's entry: its status and reference, and once loaded its version's figures."""
    current = live.current
    entry: dict[str, Any] = {
        "status": live.status, "reference": str(live.ref), "trained": current is not None,
        "error": live.error, "last_swap": live.last_swap.to_dict() if live.last_swap else None,
    }  # fmt: skip
    if current is not None:
        mean, p95 = current.warmup_summary()
        created = datetime.fromisoformat(current.metadata["created_at"])
        entry.update(
            version=current.version, backend=current.runner.backend, load_ms=round(current.load_ms, 3),
            warmup_mean_ms=round(mean, 4), warmup_p95_ms=round(p95, 4), cache_hit=current.cache_hit,
            model_age_days=round((live.clock() - created).total_seconds() / 86400, 4),
            compile_note=current.compile_note, reason=current.compile_note, task=current.task,
            **current.facts,
            compat=current.compat.to_dict() if current.compat is not None else None,
            startup_ms={phase: round(ms, 3) for phase, ms in current.startup_ms.items()},
        )  # fmt: skip
        verdict = live.age()
        if verdict is not None:
            entry.update(status=verdict.status, age_message=verdict.message)
    return entry
