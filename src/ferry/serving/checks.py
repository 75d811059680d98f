"""The checks of one window, and what they decide: wait, advance, hold, promote or roll back;
in an A/B rollout, also the significance test on every labelled outcome so far.

Pure: a rollout and its summed figures in, a verdict out; the loop in ``rollout.py`` records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferry.serving.abtest import BETTER, WORSE, compare, summary
from ferry.serving.distance import distance
from ferry.serving.figures import WindowFigures
from ferry.serving.traffic import CANDIDATE, PRIMARY

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout

WAIT, ADVANCE, HOLD, PROMOTE, ROLLBACK, CHECKED, INCONCLUSIVE = (
    "wait", "advance", "hold", "promote", "rollback", "checked", "inconclusive",
)  # fmt: skip
CHECKS = ("error_rate", "latency_ratio", "latency_p99_ms", "disagreement", "psi", "js",
          "accuracy", "mean_squared_error", "mean_absolute_error")  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One bound against one figure of the window."""

    name: str
    value: float
    bound: float
    floor: bool = False
    """True when the bound is a floor (accuracy), False when it is a ceiling."""

    @property
    def passed(self) -> bool:
        """True when the figure is within its bound."""
        return self.value >= self.bound if self.floor else self.value <= self.bound

    def broken(self) -> str:
        """``error_rate 0.2 > 0.01``: how the figure broke its bound."""
        return f"{self.name} {self.value:.4g} {'<' if self.floor else '>'} {self.bound:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the history."""
        return {"check": self.name, "value": round(self.value, 6), "bound": self.bound,
                "result": "pass" if self.passed else "fail"}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """What a window decided, the checks behind it and the failed-check count after it."""

    action: str
    checks: tuple[Check, ...]
    failures: int
    figures: dict[str, Any]
    significance: dict[str, Any] | None = None

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that broke their bound."""
        return tuple(check for check in self.checks if not check.passed)

    def reason(self, rollout: Rollout) -> str:
        """One line for the alias history, the alert and the rollout's reason."""
        test = self.significance
        if (
            test is not None
            and not self.failed
            and self.action in (PROMOTE, ROLLBACK, INCONCLUSIVE)
        ):
            return _tested(rollout, test)
        if self.action == PROMOTE:
            steps = ", ".join(f"{step}%" for step in rollout.plan.steps)
            return f"rollout {rollout.id}: {rollout.candidate} passed every check at {steps}"
        failed = "; ".join(check.broken() for check in self.failed)
        return (
            f"rollout {rollout.id}: {rollout.candidate} failed {self.failures} check(s) at "
            f"{rollout.percent}%: {failed}"
        )

    def detail(self) -> dict[str, Any]:
        """The event detail: every check and the figures it was made on."""
        detail = {"checks": [check.to_dict() for check in self.checks], "figures": self.figures,
                  "failures": self.failures}  # fmt: skip
        if self.significance is not None:
            detail["significance"] = self.significance
        return detail


def judge(
    rollout: Rollout, figures: WindowFigures, labelled: WindowFigures | None = None
) -> Verdict:
    """Judge one window of ``rollout`` on the figures of every replica; an A/B rollout's test
    reads ``labelled``, the figures of every window so far (default: this window's)."""
    candidate = figures.variants[CANDIDATE]
    summary = summarise(figures)
    if candidate.requests < rollout.plan.min_requests:
        return Verdict(WAIT, (), rollout.failures, summary)
    checks = tuple(_checks(rollout, figures))
    if any(not check.passed for check in checks):
        failures = rollout.failures + 1
        action = ROLLBACK if failures >= rollout.plan.bounds.failure_limit else HOLD
        return Verdict(action, checks, failures, summary)
    if rollout.plan.mode == "ab":
        return _ab(rollout, checks, summary, labelled or figures)
    last = rollout.step_index == len(rollout.plan.steps) - 1
    return Verdict(PROMOTE if last else ADVANCE, checks, rollout.failures, summary)


def _ab(
    rollout: Rollout, checks: tuple[Check, ...], summary: dict[str, Any], labelled: WindowFigures
) -> Verdict:
    """Test once each arm has ``min_samples`` labelled outcomes: promote a significantly better
    candidate, roll back a worse one, end as inconclusive at ``max_samples`` per arm."""
    bounds = rollout.plan.bounds
    metric = ab_metric(bounds.metric, labelled)
    candidate = labelled.variants[CANDIDATE].labelled(metric)
    primary = labelled.variants[PRIMARY].labelled(metric)
    fewest = min(candidate.count, primary.count)
    if fewest < bounds.min_samples:
        collecting = {"metric": metric, "outcome": "collecting", "min_samples": bounds.min_samples,
                      "samples": {"primary": primary.count, "candidate": candidate.count}}  # fmt: skip
        return Verdict(CHECKED, checks, rollout.failures, summary, collecting)
    test = compare(metric, candidate, primary, bounds.alpha).to_dict()
    action = {BETTER: PROMOTE, WORSE: ROLLBACK}.get(test["outcome"], CHECKED)
    if action == CHECKED and fewest >= bounds.max_samples:
        action = INCONCLUSIVE
    return Verdict(action, checks, rollout.failures, summary, test)


def ab_metric(chosen: str, labelled: WindowFigures) -> str:
    """The metric an A/B test compares: the chosen one, or (``auto``) accuracy where labels
    scored classifications, else the squared error."""
    if chosen != "auto":
        return chosen
    scored = {metric for variant in labelled.variants.values() for metric in variant.outcomes}
    return "accuracy" if "accuracy" in scored or not scored else "squared_error"


def _tested(rollout: Rollout, test: dict[str, Any]) -> str:
    """The reason an A/B test gives: its outcome, effect, interval and p-value."""
    if test["outcome"] == BETTER:
        verdict = "is significantly better"
    elif test["outcome"] == WORSE:
        verdict = "is significantly worse"
    else:
        samples = min(test["samples"].values())
        verdict = (
            f"inconclusive: no significant difference after {samples} labelled outcomes per arm"
        )
    return f"rollout {rollout.id}: {rollout.candidate} {verdict} ({summary(test)})"


def _checks(rollout: Rollout, figures: WindowFigures) -> list[Check]:
    bounds = rollout.plan.bounds
    candidate, primary = figures.variants[CANDIDATE], figures.variants[PRIMARY]
    checks = [Check("error_rate", candidate.error_rate, bounds.max_error_rate)]
    ours, theirs = candidate.quantile(0.99), primary.quantile(0.99)
    if ours is not None and theirs is not None and primary.requests >= 1:
        checks.append(Check("latency_ratio", ours / theirs, bounds.max_latency_ratio))
    if ours is not None and bounds.max_latency_ms is not None:
        checks.append(Check("latency_p99_ms", ours * 1000, bounds.max_latency_ms))
    if figures.disagreement is not None:
        checks.append(Check("disagreement", figures.disagreement, bounds.max_disagreement))
    if bounds.max_distance is not None:
        found = distance(bounds.distance, primary.predicted, candidate.predicted)
        if found is not None:
            checks.append(Check(bounds.distance, found, bounds.max_distance))
    return checks + _floors(rollout, figures)


def _floors(rollout: Rollout, figures: WindowFigures) -> list[Check]:
    """The candidate's labelled metric in this window against its floor, once the window has
    ``min_samples`` labelled outcomes of the candidate."""
    bounds, candidate = rollout.plan.bounds, figures.variants[CANDIDATE]
    checks = []
    accuracy = candidate.labelled("accuracy")
    if bounds.min_accuracy is not None and accuracy.count >= bounds.min_samples:
        checks.append(Check("accuracy", accuracy.total / accuracy.count, bounds.min_accuracy, True))
    metric = "absolute_error" if bounds.metric == "absolute_error" else "squared_error"
    errors = candidate.labelled(metric)
    if bounds.max_mean_error is not None and errors.count >= bounds.min_samples:
        checks.append(Check(f"mean_{metric}", errors.total / errors.count, bounds.max_mean_error))
    return checks


def summarise(figures: WindowFigures) -> dict[str, Any]:
    """The figures a person reads: per variant requests, errors, error rate and p99 (ms)."""
    summary: dict[str, Any] = {}
    for name, variant in figures.variants.items():
        p99 = variant.quantile(0.99)
        summary[name] = {"requests": variant.requests, "errors": variant.errors,
                         "error_rate": round(variant.error_rate, 6),
                         "p99_ms": None if p99 is None else round(p99 * 1000, 4)}  # fmt: skip
    summary.update(compared=figures.compared, disagreed=figures.disagreed,
                   disagreement=figures.disagreement, shadow_dropped=figures.dropped)  # fmt: skip
    return summary
