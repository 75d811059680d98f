"""The A/B test: is the candidate's labelled metric different from the primary's?

Accuracy (a share of right labels) is compared with the two-proportion z-test: the pooled share's
standard error gives z and the two-sided p-value, and the unpooled (Wald) standard error the
confidence interval of the difference. Errors of regressors (squared or absolute, per row) are
compared with Welch's t-test, which does not assume equal variances. Both work on the sums the
replicas store (count, sum, sum of squares), never on the rows.

The effect is candidate minus primary, so a positive effect is a gain in accuracy and a loss for
an error. scipy (the t distribution) is imported only when a Welch test runs: never before a
server's first prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from ferry.serving.outcomes import Moments

BETTER, WORSE, INCONCLUSIVE = "better", "worse", "inconclusive"
HIGHER_IS_BETTER = {"accuracy": True, "squared_error": False, "absolute_error": False}


@dataclass(frozen=True)
class Significance:
    """One test of the candidate against the primary on ``metric``."""

    test: str
    metric: str
    primary: Moments
    candidate: Moments
    effect: float
    interval: tuple[float, float]
    statistic: float
    p_value: float
    alpha: float

    @property
    def outcome(self) -> str:
        """``better`` or ``worse`` when significant at ``alpha``, else ``inconclusive``."""
        if self.p_value >= self.alpha:
            return INCONCLUSIVE
        gained = self.effect > 0 if HIGHER_IS_BETTER[self.metric] else self.effect < 0
        return BETTER if gained else WORSE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the history, ``ferry rollout status`` and ``GET /rollouts``."""
        low, high = self.interval
        primary, candidate = self.primary.mean, self.candidate.mean
        relative = self.effect / abs(primary) if primary else None
        return {
            "test": self.test, "metric": self.metric, "outcome": self.outcome,
            "samples": {"primary": self.primary.count, "candidate": self.candidate.count},
            "means": {"primary": primary, "candidate": candidate},
            "effect": self.effect, "relative_effect": relative,
            "confidence_interval": [low, high], "confidence": 1 - self.alpha,
            "statistic": self.statistic, "p_value": self.p_value, "alpha": self.alpha,
        }  # fmt: skip


def summary(test: dict[str, Any]) -> str:
    """``accuracy 0.95 vs 0.91, effect +0.04, 95% CI [+0.0087, +0.07], p=0.0117`` from the
    stored form of a test (candidate first)."""
    means, (low, high) = test["means"], test["confidence_interval"]
    return (
        f"{test['metric']} {means['candidate']:.4g} vs {means['primary']:.4g}, "
        f"effect {test['effect']:+.4g}, {test['confidence']:.0%} CI [{low:+.4g}, {high:+.4g}], "
        f"p={test['p_value']:.3g}"
    )


def compare(metric: str, candidate: Moments, primary: Moments, alpha: float) -> Significance:
    """The test that fits ``metric``: two proportions for accuracy, Welch for errors."""
    if metric == "accuracy":
        return two_proportions(candidate, primary, alpha)
    return welch(metric, candidate, primary, alpha)


def two_proportions(candidate: Moments, primary: Moments, alpha: float) -> Significance:
    """The two-proportion z-test of the candidate's accuracy against the primary's."""
    n1, n0 = candidate.count, primary.count
    p1, p0 = candidate.total / n1, primary.total / n0
    effect = p1 - p0
    pooled = (candidate.total + primary.total) / (n1 + n0)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    z = effect / pooled_se if pooled_se > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))
    wald_se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    margin = NormalDist().inv_cdf(1 - alpha / 2) * wald_se
    interval = (effect - margin, effect + margin)
    return Significance("two_proportion_z", "accuracy", primary, candidate, effect, interval,
                        z, p_value, alpha)  # fmt: skip


def welch(metric: str, candidate: Moments, primary: Moments, alpha: float) -> Significance:
    """Welch's t-test of the candidate's mean error against the primary's."""
    from scipy import stats

    m1, m0 = candidate.total / candidate.count, primary.total / primary.count
    s1, s0 = candidate.variance / candidate.count, primary.variance / primary.count
    effect, se = m1 - m0, math.sqrt(s1 + s0)
    if se == 0:  # no spread on either side: equal means are no evidence, unequal ones certain
        t = 0.0 if effect == 0 else math.copysign(math.inf, effect)
        p_value, interval = (1.0 if effect == 0 else 0.0), (effect, effect)
    else:
        df = (s1 + s0) ** 2 / (s1**2 / (candidate.count - 1) + s0**2 / (primary.count - 1))
        t = effect / se
        p_value = float(2 * stats.t.sf(abs(t), df))
        margin = float(stats.t.ppf(1 - alpha / 2, df)) * se
        interval = (effect - margin, effect + margin)
    return Significance("welch_t", metric, primary, candidate, effect, interval, t, p_value,
                        alpha)  # fmt: skip
