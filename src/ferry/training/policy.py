"""When to retrain, and whether a freshly trained candidate replaces the champion.

Both policies follow the scikit-learn component contract as far as it applies: the constructor
stores its keyword arguments and nothing else, ``get_params`` returns them, and the arguments
are checked when the policy is used. They learn nothing from data, so they have no ``fit``:
each decision is a pure function of the evaluations or the drift report it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ferry.drift import DriftReport
from ferry.errors import InvalidInput
from ferry.training.evaluation import Evaluation
from ferry.training.metrics import gain, meets
from ferry.training.significance import PairedTest, mcnemar, paired_bootstrap

PROMOTED, REJECTED, FORCED = "promoted", "rejected", "forced"
ROLLOUT_STARTED, ROLLOUT_BLOCKED = "rollout_started", "rollout_blocked"
"""A run's decision when its winner went to a rollout, or could not (the alias stays)."""
DECISIONS = (PROMOTED, REJECTED, FORCED, ROLLOUT_STARTED, ROLLOUT_BLOCKED)
"""Every decision a successful run records (``ferry stats`` counts each)."""


@dataclass(frozen=True)
class Decision:
    """The verdict on a candidate, why, and the numbers behind it."""

    decision: str
    reason: str
    gain: float | None = None
    test: PairedTest | None = None
    failed_floors: tuple[str, ...] = ()

    @property
    def promotes(self) -> bool:
        """Whether the candidate takes the alias."""
        return self.decision in (PROMOTED, FORCED)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "decision": self.decision,
            "reason": self.reason,
            "gain": self.gain,
            "test": None if self.test is None else self.test.to_dict(),
            "failed_floors": list(self.failed_floors),
        }


class PromotionPolicy:
    """Promote when the primary metric gains enough, significantly, and every floor holds."""

    def __init__(
        self,
        primary_metric: str = "f1",
        *,
        task: str = "classification",
        min_improvement: float = 0.0,
        significance: float | None = 0.05,
        floors: Mapping[str, float] | None = None,
        test: str = "auto",
        bootstrap_samples: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.primary_metric = primary_metric
        self.task = task
        self.min_improvement = min_improvement
        self.significance = significance
        self.floors = floors
        self.test = test
        self.bootstrap_samples = bootstrap_samples
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments."""
        return {
            "primary_metric": self.primary_metric,
            "task": self.task,
            "min_improvement": self.min_improvement,
            "significance": self.significance,
            "floors": self.floors,
            "test": self.test,
            "bootstrap_samples": self.bootstrap_samples,
            "random_state": self.random_state,
        }

    def decide(
        self, candidate: Evaluation, champion: Evaluation | None, *, force: bool = False
    ) -> Decision:
        """The verdict on ``candidate`` against ``champion`` (None: there is no champion yet)."""
        verdict = self._verdict(candidate, champion)
        if not force:
            return verdict
        said = "promote" if verdict.promotes else "reject"
        return Decision(
            FORCED,
            f"forced; the policy would {said}: {verdict.reason}",
            verdict.gain,
            verdict.test,
            verdict.failed_floors,
        )

    def _verdict(self, candidate: Evaluation, champion: Evaluation | None) -> Decision:
        metric = self.primary_metric
        value = _metric(candidate, metric, "candidate")
        failed = self._failed_floors(candidate)
        if champion is None:
            note = f" (below floors: {', '.join(failed)})" if failed else ""
            return Decision(
                PROMOTED, f"first model: nothing to compare with{note}", None, None, failed
            )
        if failed:
            return Decision(REJECTED, f"below floors: {', '.join(failed)}", None, None, failed)
        if metric not in champion.metrics:
            return Decision(REJECTED, f"the champion's {metric} cannot be computed on this holdout")
        change = gain(metric, value, champion.metrics[metric])
        if change < self.min_improvement:
            return Decision(
                REJECTED,
                f"{metric} {value:.4g} vs champion {champion.metrics[metric]:.4g}: gain "
                f"{change:+.4g} is below min_improvement {self.min_improvement:g}",
                change,
            )
        return self._significant(candidate, champion, change)

    def _significant(self, candidate: Evaluation, champion: Evaluation, change: float) -> Decision:
        metric = self.primary_metric
        summary = f"{metric} {candidate.metrics[metric]:.4g} vs champion {champion.metrics[metric]:.4g} (gain {change:+.4g})"
        if self.significance is None:
            return Decision(PROMOTED, f"{summary}; significance test skipped", change)
        result = self._paired_test(candidate, champion)
        if result.p_value > self.significance:
            return Decision(
                REJECTED,
                f"{summary} is not significant: {result.test} p={result.p_value:.3g} > "
                f"{self.significance:g}",
                change,
                result,
            )
        return Decision(
            PROMOTED,
            f"{summary}, {result.test} p={result.p_value:.3g} <= {self.significance:g}",
            change,
            result,
        )

    def _paired_test(self, candidate: Evaluation, champion: Evaluation) -> PairedTest:
        test = self.test
        if test == "auto":
            test = "mcnemar" if self.task == "classification" else "bootstrap"
        if test == "mcnemar":
            return mcnemar(candidate, champion)
        if test == "bootstrap":
            return paired_bootstrap(
                self.primary_metric,
                candidate,
                champion,
                samples=self.bootstrap_samples,
                random_state=self.random_state,
            )
        raise InvalidInput(f"test={self.test!r} is not one of ('auto', 'mcnemar', 'bootstrap')")

    def _failed_floors(self, candidate: Evaluation) -> tuple[str, ...]:
        failed = []
        for metric, bound in sorted((self.floors or {}).items()):
            value = candidate.metrics.get(metric)
            if value is None:
                failed.append(f"{metric} unavailable (floor {bound:g})")
            elif not meets(metric, value, bound):
                failed.append(f"{metric} {value:.4g} (floor {bound:g})")
        return tuple(failed)


def _metric(result: Evaluation, metric: str, who: str) -> float:
    if metric not in result.metrics:
        raise InvalidInput(
            f"the {who}'s {metric} cannot be computed on the holdout "
            f"(computed: {sorted(result.metrics)}); choose another evaluation.primary_metric"
        )
    return result.metrics[metric]


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain, and the drift that says so."""

    retrain: bool
    reasons: tuple[str, ...] = field(default=())


class RetrainPolicy:
    """Retrain on the kinds of drift listed in ``on``: data, predictions, performance."""

    KINDS = ("data", "predictions", "performance")

    def __init__(self, *, on: Sequence[str] = KINDS) -> None:
        self.on = on

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments."""
        return {"on": self.on}

    def decide(self, report: DriftReport) -> RetrainDecision:
        """Which of the watched drifts the report shows."""
        unknown = sorted(set(self.on) - set(self.KINDS))
        if unknown:
            raise InvalidInput(f"on={list(self.on)!r}: unknown kinds {unknown}; use {self.KINDS}")
        reasons = []
        if "data" in self.on and report.dataset_drift:
            names = ", ".join(feature.name for feature in report.drifted_features[:5])
            empty = report.empty_features
            arrived = f"; arrived with no values: {', '.join(empty)}" if empty else ""
            reasons.append(
                f"data drift: {report.drift_share:.0%} of features drifted "
                f"(threshold {report.drift_share_threshold:.0%}): {names}{arrived}"
            )
        if "predictions" in self.on and report.prediction_drift:
            reasons.append("prediction drift: the model's outputs changed distribution")
        performance = report.performance
        if "performance" in self.on and performance is not None and performance.drifted:
            reasons.append(
                f"performance drift: {performance.metric} {performance.current:.4g} vs "
                f"baseline {performance.baseline:.4g} on {performance.rows} labelled rows"
            )
        return RetrainDecision(bool(reasons), tuple(reasons))
