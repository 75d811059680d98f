"""Judging one window: wait for enough requests, advance, hold, promote or roll back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ferry.registry.rollout_plan import Bounds, RolloutPlan
from ferry.registry.rollouts import Rollout
from ferry.serving.checks import judge
from ferry.serving.figures import VariantFigures, WindowFigures
from ferry.serving.outcomes import Moments

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


AB = dataclasses.replace(
    ROLLOUT, plan=RolloutPlan(mode="ab", steps=(50,), min_requests=10,
                              bounds=Bounds(min_samples=30, max_samples=60))
)  # fmt: skip


def _labelled(candidate_right: int, primary_right: int, each: int) -> WindowFigures:
    figures = _figures()
    for variant, right in (("candidate", candidate_right), ("primary", primary_right)):
        scores = np.array([1.0] * right + [0.0] * (each - right))
        figures.variants[variant].outcomes.setdefault("accuracy", Moments()).observe(scores)
    return figures


@pytest.mark.parametrize(
    ("labelled", "action", "outcome"),
    [
        (_labelled(20, 10, 25), "checked", "collecting"),  # under min_samples: no test yet
        (_labelled(29, 15, 30), "promote", "better"),
        (_labelled(10, 28, 30), "rollback", "worse"),
        (_labelled(20, 21, 40), "checked", "inconclusive"),
        (_labelled(40, 41, 60), "inconclusive", "inconclusive"),  # max_samples reached
    ],
)
def test_an_ab_window_tests_every_labelled_outcome(labelled, action, outcome):
    verdict = judge(AB, _figures(), labelled)
    assert (verdict.action, verdict.significance["outcome"]) == (action, outcome)
    assert verdict.detail()["significance"] == verdict.significance
    if action == "promote":
        assert "significantly better (accuracy 0.9667 vs 0.5" in verdict.reason(AB)
    if action == "inconclusive":
        assert "no significant difference after 60 labelled outcomes" in verdict.reason(AB)


def test_labelled_outcomes_of_replicas_add_up():
    total = WindowFigures.total([_labelled(3, 2, 4).to_dict(), _labelled(1, 1, 2).to_dict()])
    accuracy = total.variants["candidate"].labelled("accuracy")
    assert (accuracy.count, accuracy.mean) == (6, 4 / 6)
    old = _figures().to_dict()  # figures stored before labels were counted
    del old["variants"]["candidate"]["outcomes"]
    assert WindowFigures.from_dict(old).variants["candidate"].labelled("accuracy").count == 0


def test_metric_floors_need_enough_labels_and_fail_below_the_floor():
    bounds = Bounds(min_samples=30, min_accuracy=0.9, max_mean_error=2.0)
    floored = dataclasses.replace(ROLLOUT, plan=RolloutPlan(min_requests=10, bounds=bounds))
    assert judge(floored, _labelled(20, 20, 25)).action == "advance"  # too few labels to judge
    verdict = judge(floored, _labelled(24, 30, 30))
    assert [check.name for check in verdict.failed] == ["accuracy"]
    assert "accuracy 0.8 < 0.9" in verdict.reason(floored)
    assert judge(floored, _labelled(28, 30, 30)).action == "advance"
    regression = _figures()
    regression.variants["candidate"].outcomes["squared_error"] = Moments(30, 90.0, 300.0)
    assert [check.name for check in judge(floored, regression).failed] == ["mean_squared_error"]
