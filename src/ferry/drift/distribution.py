"""One feature's reference and current distributions as shares, small enough to keep per check.

A report's histograms hold counts and labels for a page drawn once; a monitor check keeps, per
feature, only what a later picture needs: numeric columns the reference's display edges and the
share of each side per bin, categorical columns the largest categories' shares and one "other"
bucket. Shares are rounded to four decimals, so a check of thirty features costs a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ferry.drift.report import DriftReport, FeatureDrift
from ferry.errors import InvalidInput

TOP_CATEGORIES = 10
"""Categories kept one by one; the rest share the "other" bucket."""

OTHER = "(other)"
_DIGITS = 4


@dataclass(frozen=True)
class Distribution:
    """Reference and current shares over the same bins of one feature (``edges`` for numeric)."""

    name: str
    type: str
    drifted: bool
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored form: numeric bins are named by their edges, so labels are left out."""
        data: dict[str, Any] = {"name": self.name, "type": self.type, "drifted": self.drifted,
                                "reference": list(self.reference), "current": list(self.current)}  # fmt: skip
        if self.edges is not None:
            data["edges"] = list(self.edges)
        else:
            data["labels"] = list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Distribution:
        """Read the stored form back (labels of numeric bins rebuilt from the edges)."""
        try:
            edges = None if data.get("edges") is None else tuple(map(float, data["edges"]))
            labels = _bin_labels(edges) if edges is not None else tuple(map(str, data["labels"]))
            reference = tuple(map(float, data["reference"]))
            current = tuple(map(float, data["current"]))
            name, kind, drifted = str(data["name"]), str(data["type"]), bool(data["drifted"])
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"a stored feature distribution lacks or mangles {error}") from error
        if not len(labels) == len(reference) == len(current):
            raise InvalidInput(f"distribution of {name!r}: labels and shares differ in length")
        return cls(name, kind, drifted, labels, reference, current, edges)


def distributions(report: DriftReport) -> list[Distribution]:
    """Every compared feature's distributions, in the report's column order."""
    found = (distribution_of(feature) for feature in report.features)
    return [distribution for distribution in found if distribution is not None]


def distribution_of(feature: FeatureDrift) -> Distribution | None:
    """The feature's histogram as shares, or None when it was not compared."""
    histogram = feature.histogram
    if histogram is None:
        return None
    reference, current = _shares(histogram.reference), _shares(histogram.current)
    if histogram.edges is not None:
        return Distribution(feature.name, feature.type, feature.drifted, histogram.labels,
                            reference, current, tuple(histogram.edges))  # fmt: skip
    labels, reference, current = _top(histogram.labels, reference, current)
    return Distribution(feature.name, feature.type, feature.drifted, labels, reference, current)


def _shares(counts: tuple[int, ...]) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(round(count / total, _DIGITS) if total else 0.0 for count in counts)


def _top(
    labels: tuple[str, ...], reference: tuple[float, ...], current: tuple[float, ...]
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """The categories with the largest share on either side; the rest (and the report's own
    folded bar) in one "other" bucket at the end."""
    folded = [index for index, label in enumerate(labels) if label.endswith(" others)")]
    named = [index for index in range(len(labels)) if index not in folded]
    named.sort(key=lambda index: -max(reference[index], current[index]))
    kept = sorted(named[:TOP_CATEGORIES])
    rest = [index for index in range(len(labels)) if index not in kept]
    out_labels = [labels[index] for index in kept]
    out_reference = [reference[index] for index in kept]
    out_current = [current[index] for index in kept]
    if rest:
        out_labels.append(OTHER)
        out_reference.append(round(sum(reference[index] for index in rest), _DIGITS))
        out_current.append(round(sum(current[index] for index in rest), _DIGITS))
    return tuple(out_labels), tuple(out_reference), tuple(out_current)


def _bin_labels(edges: tuple[float, ...]) -> tuple[str, ...]:
    """``<= e0``, ``e0 - e1`` ... ``> e_last``: the same names the report's histogram uses."""
    texts = [f"{edge:.4g}" for edge in edges]
    middle = [f"{low} - {high}" for low, high in pairwise(texts)]
    return (f"<= {texts[0]}", *middle, f"> {texts[-1]}")
