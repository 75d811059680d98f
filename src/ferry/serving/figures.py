"""What one check window saw: per variant requests, errors and latencies; rows compared and
rows on which the two variants disagreed.

Latencies go into log-spaced buckets (10 % wide) rather than a list, so a window costs the same
memory at any traffic, and the figures of several replicas add up to the figures of all of them:
the analysis leader sums what every replica stored and reads p99 off the sum.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ferry.serving.outcomes import Moments
from ferry.serving.traffic import VARIANTS

_SMALLEST = 1e-5
"""Latencies (seconds) below this share the first bucket."""
_GROWTH = 1.1


def _upper(index: int) -> float:
    return float(_SMALLEST * _GROWTH**index)


_EDGES = [_upper(index) for index in range(256)]
"""The buckets' upper edges, 10 us to about four days: a request's bucket is a bisection, not
a logarithm, on every request of a rollout."""


def _bucket(seconds: float) -> int:
    return bisect.bisect_left(_EDGES, seconds)


def _predicted() -> dict[str, Counter[str]]:
    return {"classes": Counter(), "values": Counter()}


@dataclass
class VariantFigures:
    """Requests, errors and a latency histogram of one variant in one window, and the sums of
    its labelled outcomes by metric (see ``outcomes.py``)."""

    requests: int = 0
    errors: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    outcomes: dict[str, Moments] = field(default_factory=dict)
    predicted: dict[str, Counter[str]] = field(default_factory=_predicted)
    """What the variant predicted (see ``distance.py``): ``classes`` or (regressors) ``values``."""

    def observe(self, seconds: float, failed: bool) -> None:
        """Count one request that took ``seconds``."""
        self.requests += 1
        self.errors += int(failed)
        self.latency[_bucket(seconds)] += 1

    @property
    def error_rate(self) -> float:
        """Errors over requests (0 with no requests)."""
        return self.errors / self.requests if self.requests else 0.0

    def quantile(self, q: float) -> float | None:
        """The ``q`` latency quantile in seconds (a bucket's upper edge), or None when empty."""
        total = sum(self.latency.values())
        if not total:
            return None
        wanted, seen = q * total, 0
        for index in sorted(self.latency):
            seen += self.latency[index]
            if seen >= wanted:
                return _upper(index)
        return _upper(max(self.latency))

    def add(self, other: VariantFigures) -> None:
        """Add another replica's figures to these."""
        self.requests += other.requests
        self.errors += other.errors
        self.latency.update(other.latency)
        for metric, moments in other.outcomes.items():
            self.outcomes.setdefault(metric, Moments()).add(moments)
        for kind, counts in other.predicted.items():
            self.predicted.setdefault(kind, Counter()).update(counts)

    def labelled(self, metric: str) -> Moments:
        """The sums of one metric's labelled outcomes (empty when none came)."""
        return self.outcomes.get(metric, Moments())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bucket indexes as strings)."""
        latency = {str(index): count for index, count in self.latency.items()}
        outcomes = {metric: moments.to_dict() for metric, moments in self.outcomes.items()}
        return {"requests": self.requests, "errors": self.errors, "latency": latency,
                "outcomes": outcomes, "predicted": self.predicted}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VariantFigures:
        """The inverse of :meth:`to_dict`."""
        latency = Counter({int(index): int(count) for index, count in data["latency"].items()})
        outcomes = {metric: Moments.from_dict(sums)
                    for metric, sums in data.get("outcomes", {}).items()}  # fmt: skip
        predicted = _predicted()
        for kind, counts in data.get("predicted", {}).items():
            predicted[kind] = Counter({key: int(count) for key, count in counts.items()})
        return cls(int(data["requests"]), int(data["errors"]), latency, outcomes, predicted)


@dataclass
class WindowFigures:
    """Both variants' figures in one window, and the comparisons made on copies."""

    variants: dict[str, VariantFigures] = field(
        default_factory=lambda: {name: VariantFigures() for name in VARIANTS}
    )
    compared: int = 0
    disagreed: int = 0
    dropped: int = 0

    @property
    def disagreement(self) -> float | None:
        """Share of compared rows predicted differently; None before any comparison."""
        return self.disagreed / self.compared if self.compared else None

    def add(self, other: WindowFigures) -> None:
        """Add another replica's window to this one."""
        for name, figures in other.variants.items():
            self.variants.setdefault(name, VariantFigures()).add(figures)
        self.compared += other.compared
        self.disagreed += other.disagreed
        self.dropped += other.dropped

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored per replica in the catalog."""
        return {
            "variants": {name: figures.to_dict() for name, figures in self.variants.items()},
            "compared": self.compared,
            "disagreed": self.disagreed,
            "dropped": self.dropped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowFigures:
        """The inverse of :meth:`to_dict`."""
        variants = {name: VariantFigures.from_dict(v) for name, v in data["variants"].items()}
        return cls(variants, int(data["compared"]), int(data["disagreed"]), int(data["dropped"]))

    @classmethod
    def total(cls, stored: list[dict[str, Any]]) -> WindowFigures:
        """The sum of every replica's stored figures."""
        summed = cls()
        for data in stored:
            summed.add(cls.from_dict(data))
        return summed
