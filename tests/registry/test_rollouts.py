"""Rollouts in the catalog, on SQLite and PostgreSQL: start, read, step, promote, abort."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from ferry import Registry
from ferry.errors import Conflict, InvalidInput, NotFound
from ferry.registry.rollout_plan import Bounds, RolloutPlan, parse_duration, parse_steps, plan_of
from ferry.registry.rollouts import Rollouts


@pytest.fixture
def two_versions(registry: Registry, pipeline, cancer) -> Rollouts:
    registry.register(pipeline, "churn", input_example=cancer[0].head(5))
    registry.register(pipeline, "churn", input_example=cancer[0].head(5))
    registry.set_alias("churn", "production", "1.0.0")
    return Rollouts(registry)


def test_a_rollout_starts_with_the_defaults_and_is_read_back(two_versions):
    rollout = two_versions.start("churn@production", "1.1.0", RolloutPlan(), "new features")

    assert (rollout.primary, rollout.candidate, rollout.alias) == ("1.0.0", "1.1.0", "production")
    assert rollout.plan.steps == (5, 25, 50, 100) and rollout.percent == 5
    assert rollout.plan.bounds == Bounds(0.01, 1.5, None, 0.05, 2)
    assert two_versions.active("churn") == rollout == two_versions.get("churn")
    assert [r.id for r in two_versions.newest()] == [rollout.id]
    assert two_versions.history("churn")[0].kind == "started"


def test_one_running_rollout_per_model(two_versions):
    two_versions.start("churn@production", "1.1.0", RolloutPlan())
    with pytest.raises(Conflict, match="already has rollout"):
        two_versions.start("churn@production", "1.1.0", RolloutPlan())


@pytest.mark.parametrize(
    ("ref", "candidate", "error", "message"),
    [
        ("churn:1.0.0", "1.1.0", InvalidInput, "name the alias"),
        ("churn@production", "1.0.0", InvalidInput, "already churn@production"),
        ("churn@production", "9.0.0", NotFound, "churn:9.0.0"),
        ("churn@staging", "1.1.0", NotFound, "staging"),
    ],
)
def test_bad_starts_are_refused_by_name(two_versions, ref, candidate, error, message):
    with pytest.raises(error, match=message):
        two_versions.start(ref, candidate, RolloutPlan())


def test_a_candidate_with_other_inputs_is_refused(two_versions, pipeline, cancer):
    narrow = clone(pipeline).fit(cancer[0].iloc[:, :5], cancer[1])
    two_versions.registry.register(narrow, "churn", input_example=cancer[0].iloc[:5, :5])
    with pytest.raises(InvalidInput, match="other inputs"):
        two_versions.start("churn@production", "2.0.0", RolloutPlan())


def test_steps_advance_only_from_where_the_leader_saw_them(two_versions):
    seen = two_versions.start("churn@production", "1.1.0", RolloutPlan())

    assert two_versions.judged(seen, 1, 0, "advanced", {"checks": []}, "2026-12-02T00:00:00")
    assert not two_versions.judged(seen, 1, 0, "advanced", {}, "2026-12-02T00:00:00")  # stale
    now = two_versions.get("churn")
    assert (now.step_index, now.percent, now.window) == (1, 25, 1)
    assert [e.kind for e in two_versions.history("churn")] == ["started", "advanced"]


def test_promote_moves_the_alias_with_a_reason_and_ends_the_rollout(two_versions):
    two_versions.start("churn@production", "1.1.0", RolloutPlan())
    done = two_versions.promote("churn")

    assert done.state == "promoted" and done.percent == 0 and done.ended_at
    assert two_versions.registry.resolve("churn@production").version == "1.1.0"
    move = two_versions.registry.alias_history("churn", "production")[-1]
    assert move.reason is not None and "rollout" in move.reason
    with pytest.raises(Conflict, match="already promoted"):
        two_versions.abort("churn")


def test_abort_keeps_the_alias_and_a_new_rollout_may_start(two_versions):
    two_versions.start("churn@production", "1.1.0", RolloutPlan())
    assert two_versions.abort("churn", "not today").state == "aborted"
    assert two_versions.registry.resolve("churn@production").version == "1.0.0"
    assert two_versions.active("churn") is None
    again = two_versions.start("churn@production", "1.1.0", RolloutPlan())
    assert two_versions.get("churn").id == again.id


def test_figures_of_each_replica_are_kept_per_step(two_versions):
    rollout = two_versions.start("churn@production", "1.1.0", RolloutPlan())
    two_versions.report(rollout, "a", {"requests": 1})
    two_versions.report(rollout, "a", {"requests": 2})
    two_versions.report(rollout, "b", {"requests": 5})
    assert sorted(f["requests"] for f in two_versions.figures(rollout)) == [2, 5]


def test_no_rollout_is_not_found(two_versions):
    with pytest.raises(NotFound, match="no rollout"):
        two_versions.get("churn")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "blue"}, "mode"),
        ({"steps": "5,5"}, "increase"),
        ({"steps": "0,50"}, "1..100"),
        ({"steps": "a,b"}, "comma-separated"),
        ({"interval": "soon"}, "interval"),
        ({"max_error_rate": 2}, "max_error_rate"),
        ({"max_latency_ratio": -1}, "max_latency_ratio"),
        ({"failure_limit": 0}, "failure_limit"),
        ({"min_requests": 0}, "min_requests"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_plans_are_refused_by_name(options, message):
    with pytest.raises(InvalidInput, match=message):
        plan_of(options)


def test_plans_parse_durations_steps_and_mode_defaults():
    assert parse_duration("10m") == 600 and parse_duration("1.5h") == 5400
    assert parse_duration("30") == 30 and parse_steps("5%, 50,100") == (5, 50, 100)
    assert plan_of({"mode": "ab"}).steps == (50,)
    plan = plan_of({"interval": 30, "max_latency_ms": 20, "steps": [10, 100]})
    assert (plan.interval_seconds, plan.bounds.max_latency_ms, plan.steps) == (30, 20, (10, 100))
