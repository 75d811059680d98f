"""What a person reads about a rollout: its record, and the window the next check will judge.

The leader judges a window only once its interval has passed; until then each replica's figures
wait in the catalog. Someone watching a canary wants to see them as they build up (is the
candidate erroring, slower, disagreeing?) rather than only the step it is on, so
``ferry rollout status`` and ``GET /rollouts/{name}`` both add them, summed over replicas.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ferry.serving.checks import summarise
from ferry.serving.figures import WindowFigures

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout, Rollouts


def describe(store: Rollouts, rollout: Rollout) -> dict[str, Any]:
    """The rollout's JSON form; while it runs, with ``current_window``: the window's number,
    the replicas that reported, when it can be judged, and the figures summarised as the
    analysis records them (per variant requests, errors, error rate, p99 ms; disagreement)."""
    described = rollout.to_dict()
    if rollout.running:
        stored = store.figures(rollout)
        opened = datetime.fromisoformat(rollout.window_started_at)
        judged_from = opened + timedelta(seconds=rollout.plan.interval_seconds)
        described["current_window"] = {
            "window": rollout.window,
            "replicas": len(stored),
            "judged_from": judged_from.isoformat(),
            **summarise(WindowFigures.total(stored)),
        }
    return described
