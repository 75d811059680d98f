"""What a person reads about a rollout: its record, and the window the next check will judge.

The leader judges a window only once its interval has passed; until then each replica's figures
wait in the catalog. Someone watching a canary wants to see them as they build up (is the
candidate erroring, slower, disagreeing?) rather than only the step it is on, so
``ferry rollout status``, ``GET /rollouts/{name}`` and the dashboard's model page all show
them, summed over replicas.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ferry.serving.checks import summarise
from ferry.serving.figures import WindowFigures

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout, Rollouts


def describe(store: Rollouts, rollout: Rollout) -> dict[str, Any]:
    """The rollout's JSON form; while it runs, with its ``current_window``."""
    described = rollout.to_dict()
    if rollout.running:
        described["current_window"] = current_window(store, rollout)
    return described


def current_window(store: Rollouts, rollout: Rollout) -> dict[str, Any]:
    """The window's number, the replicas that reported, when it can be judged, and the figures
    summarised as the history records a judged window (per variant requests, errors, error
    rate, p99 ms; copies compared and disagreement)."""
    stored = store.figures(rollout)
    opened = datetime.fromisoformat(rollout.window_started_at)
    judged_from = opened + timedelta(seconds=rollout.plan.interval_seconds)
    return {
        "window": rollout.window,
        "replicas": len(stored),
        "judged_from": judged_from.isoformat(),
        **summarise(WindowFigures.total(stored)),
    }
