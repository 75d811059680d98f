"""Judging one window: wait for enough requests, advance, hold, promote or roll back."""

from __future__ import annotations

import dataclasses

import pytest

from ferry.registry.rollout_plan import RolloutPlan
from ferry.registry.rollouts import Rollout
from ferry.serving.checks import judge
from ferry.serving.figures import VariantFigures, WindowFigures

ROLLOUT = Rollout(1, "churn", "production", "1.0.0", "1.1.0", RolloutPlan(min_requests=10),
                  "running", 0, 0, 0, "t", "t", None, "me", None)  # fmt: skip


def _figures(*, errors=0, primary_ms=1.0, candidate_ms=1.0, disagreed=0, requests=20):
    figures = WindowFigures()
    for index in range(requests):
        figures.variants["primary"].observe(primary_ms / 1000, failed=False)
        figures.variants["candidate"].observe(candidate_ms / 1000, failed=index < errors)
    figures.compared, figures.disagreed = requests, disagreed
    return figures


@pytest.mark.parametrize(
    ("figures", "action", "failed"),
    [
        (_figures(requests=5), "wait", []),
        (_figures(), "advance", []),
        (_figures(errors=2), "hold", ["error_rate"]),
        (_figures(candidate_ms=3.0), "hold", ["latency_ratio"]),
        (_figures(disagreed=5), "hold", ["disagreement"]),
    ],
)
def test_one_window(figures, action, failed):
    verdict = judge(ROLLOUT, figures)
    assert verdict.action == action
    assert [check.name for check in verdict.failed] == failed


def test_the_failure_limit_rolls_back_and_the_last_step_promotes():
    failing = dataclasses.replace(ROLLOUT, failures=1)
    verdict = judge(failing, _figures(errors=20))
    assert verdict.action == "rollback" and verdict.failures == 2
    assert "error_rate 1 > 0.01" in verdict.reason(failing)
    last = dataclasses.replace(ROLLOUT, step_index=3)
    assert judge(last, _figures()).action == "promote"
    absolute = dataclasses.replace(
        ROLLOUT, plan=RolloutPlan(min_requests=10, bounds=dataclasses.replace(
            ROLLOUT.plan.bounds, max_latency_ms=2.0))
    )  # fmt: skip
    assert [c.name for c in judge(absolute, _figures(primary_ms=4, candidate_ms=4)).failed] == [
        "latency_p99_ms"
    ]


def test_figures_of_replicas_add_up_and_survive_json():
    one, two = _figures(errors=1), _figures(disagreed=3)
    total = WindowFigures.total([one.to_dict(), two.to_dict()])
    assert total.variants["candidate"].requests == 40 and total.variants["candidate"].errors == 1
    assert total.disagreement == 3 / 40
    assert VariantFigures().quantile(0.99) is None
    p99 = total.variants["primary"].quantile(0.99)
    assert p99 is not None and 0.001 <= p99 < 0.0011
