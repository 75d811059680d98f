"""Reference and current counts over the same bins, for the report's pictures.

Numeric columns use equal-width bins over the reference's 0.5%-99.5% range with one open bin on
each side, so a shift into the tails shows up as a tall outer bar. Categorical columns show their
most frequent categories (either side) and fold the rest into one bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ferry.drift.bins import bin_counts
from ferry.drift.categories import AlignedCounts, proportions
from ferry.drift.profile import NumericProfile

MAX_BARS = 20
"""Categories drawn one by one; the rest share one bar."""


@dataclass(frozen=True)
class Histogram:
    """Bars: a label per bar and a count per bar on each side (``edges`` for numeric bins)."""

    labels: tuple[str, ...]
    reference: tuple[int, ...]
    current: tuple[int, ...]
    edges: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        data: dict[str, Any] = {
            "labels": list(self.labels),
            "reference": list(self.reference),
            "current": list(self.current),
        }
        if self.edges is not None:
            data["edges"] = list(self.edges)
        return data


def numeric_histogram(profile: NumericProfile, current: NDArray[np.float64]) -> Histogram:
    """Display bins learned in ``fit``, current values counted into them."""
    edges = profile.display_edges
    texts = [_number(edge) for edge in edges]
    labels = [f"<= {texts[0]}"]
    labels += [f"{low} - {high}" for low, high in pairwise(texts)]
    labels.append(f"> {texts[-1]}")
    return Histogram(
        tuple(labels),
        tuple(int(count) for count in profile.display_counts),
        tuple(int(count) for count in bin_counts(current, edges)),
        tuple(float(edge) for edge in edges),
    )


def categorical_histogram(aligned: AlignedCounts) -> Histogram:
    """The categories with the largest share on either side, the rest folded into one bar."""
    weight = np.maximum(proportions(aligned.reference), proportions(aligned.current))
    if len(aligned.categories) <= MAX_BARS:
        shown = np.arange(len(aligned.categories))
    else:
        shown = np.sort(np.argsort(-weight, kind="stable")[: MAX_BARS - 1])
    labels = [aligned.categories[index] for index in shown]
    reference = [int(aligned.reference[index]) for index in shown]
    current = [int(aligned.current[index]) for index in shown]
    folded = len(aligned.categories) - shown.size
    if folded:
        labels.append(f"({folded} others)")
        reference.append(int(aligned.reference.sum()) - sum(reference))
        current.append(int(aligned.current.sum()) - sum(current))
    return Histogram(tuple(labels), tuple(reference), tuple(current))


def _number(value: float) -> str:
    return f"{value:.4g}"
