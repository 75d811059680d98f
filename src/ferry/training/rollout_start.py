"""A winning candidate handed to a rollout instead of taking the alias at once.

With ``[promotion] rollout = "canary"`` (or ``"shadow"``, ``"ab"``, or a table of rollout
options), a run whose candidate wins starts a rollout against the version the alias points at;
the servers then walk it through the steps, and the analysis moves the alias or rolls back. The
run's decision says which rollout it started, or why it started none: a model has one running
rollout at a time, and a candidate with other inputs cannot share traffic with the champion.
"""

from __future__ import annotations

from ferry.errors import Conflict, InvalidInput
from ferry.registry.registry import Registry
from ferry.registry.rollout_plan import RolloutPlan
from ferry.registry.rollouts import Rollouts
from ferry.training.policy import ROLLOUT_BLOCKED, ROLLOUT_STARTED, Decision


def hand_to_rollout(
    registry: Registry, ref: str, version: str, plan: RolloutPlan, won: Decision, run_id: str
) -> Decision:
    """Start rolling ``version`` out on ``ref`` (``name@alias``); the decision the run records."""
    rollouts = Rollouts(registry)
    name = ref.split("@")[0]
    running = rollouts.active(name)
    if running is not None:
        return _blocked(won, f"{name} already has rollout {running.id} running "
                             f"({running.primary} -> {running.candidate})")  # fmt: skip
    try:
        rollout = rollouts.start(ref, version, plan, f"run {run_id}: {won.reason}"[:2000])
    except (Conflict, InvalidInput) as error:
        return _blocked(won, str(error))
    reason = (
        f"rollout {rollout.id} of {name} started: {plan.mode} {rollout.primary} -> {version} "
        f"(see `ferry rollout status {name}`); {won.reason}"
    )
    return Decision(ROLLOUT_STARTED, reason, won.gain, won.test, won.failed_floors)


def _blocked(won: Decision, why: str) -> Decision:
    reason = f"the candidate won but was not rolled out, the alias stays: {why}; {won.reason}"
    return Decision(ROLLOUT_BLOCKED, reason, won.gain, won.test, won.failed_floors)
