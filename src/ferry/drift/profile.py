"""Reference statistics, computed once in ``fit`` and reused by every ``check``.

A numeric column keeps its sorted finite values (exact KS and Wasserstein need the whole
empirical distribution), plus what is cheap to derive from them once: mean, standard deviation,
PSI quantile bins, display bins and a coarse grid that lets KS skip most of the data. A
categorical column keeps its category counts. Everything derived is rebuilt from the stored
values on load, so a loaded profile behaves bit for bit like the fitted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.drift import moments
from ferry.drift.bins import bin_counts, display_edges, first_of_runs, quantile_edges
from ferry.drift.categories import count_categories, counts_from_sorted
from ferry.drift.columns import Column, numeric_values
from ferry.drift.ranks import run_ends, run_starts

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

KS_GRID_SIZE = 16384
"""Reference points KS evaluates first; only grid cells that could hold the maximum are opened."""


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """The reference distribution of one numeric column."""

    rows: int
    missing: int
    values: FloatArray
    mean: float | None
    std: float | None
    psi_edges: FloatArray
    psi_counts: IntArray
    display_edges: FloatArray
    display_counts: IntArray
    grid: FloatArray
    grid_left: IntArray
    grid_right: IntArray

    @classmethod
    def from_sorted(cls, values: FloatArray, rows: int, psi_bins: int) -> NumericProfile:
        """Derive every reference statistic from sorted finite ``values``."""
        psi_edges = quantile_edges(values, psi_bins)
        shown = display_edges(values)
        positions = grid_positions(values)
        return cls(
            rows=rows,
            missing=rows - values.size,
            values=values,
            mean=moments.mean(values) if values.size else None,
            std=moments.std(values) if values.size else None,
            psi_edges=psi_edges,
            psi_counts=bin_counts(values, psi_edges),
            display_edges=shown,
            display_counts=bin_counts(values, shown),
            grid=values[positions],
            grid_left=run_starts(values, positions),
            grid_right=run_ends(values, positions),
        )


def grid_positions(sorted_values: FloatArray) -> IntArray:
    """Where the KS grid samples the reference: every ``n // KS_GRID_SIZE``-th value, each
    distinct value once (its first sampled position)."""
    step = max(1, sorted_values.size // KS_GRID_SIZE)
    positions = np.arange(step - 1, sorted_values.size, step, dtype=np.int64)
    return positions[first_of_runs(sorted_values[positions])]


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """The reference frequencies of one categorical column, most frequent category first."""

    rows: int
    missing: int
    categories: tuple[str, ...]
    counts: IntArray

    @classmethod
    def from_counts(cls, counts: dict[str, int], rows: int) -> CategoricalProfile:
        """Order categories by frequency (then by name, so the order is reproducible)."""
        ordered = sorted(counts, key=lambda key: (-counts[key], key))
        return cls(
            rows=rows,
            missing=rows - sum(counts.values()),
            categories=tuple(ordered),
            counts=np.array([counts[key] for key in ordered], dtype=np.int64),
        )


@dataclass(frozen=True)
class SkippedProfile:
    """A column that is listed in reports but not tested, and why (a timestamp, an identifier)."""

    kind: str
    reason: str


Profile = NumericProfile | CategoricalProfile | SkippedProfile


def has_values(profile: NumericProfile | CategoricalProfile) -> bool:
    """Whether the reference column had any value (finite, for numbers) to compare against."""
    if isinstance(profile, NumericProfile):
        return profile.values.size > 0
    return int(profile.counts.sum()) > 0


NARROW_SORTED = frozenset(
    np.dtype(name) for name in ("float32", "int32", "uint32", "int16", "uint16", "int8", "uint8")
)
"""Column dtypes sorted as they are, then widened: numpy sorts four bytes a value about twice as
fast as eight, and widening to float64 is exact and keeps the order."""


def sorted_column(series: pd.Series, name: str) -> FloatArray:
    """A numeric column's sorted finite values as float64 (see :func:`sorted_finite`)."""
    if isinstance(series.dtype, np.dtype) and series.dtype in NARROW_SORTED:
        return finite_part(np.sort(series.to_numpy()).astype(np.float64))
    return sorted_finite(numeric_values(series, name))


def sorted_finite(values: FloatArray) -> FloatArray:
    """Sorted finite values: NaN and +/-inf count as missing (a view into one sorted copy)."""
    return finite_part(np.sort(values))


def finite_part(ordered: FloatArray) -> FloatArray:
    """The finite values of a sorted array (numpy sorts -inf first, then +inf and NaN last)."""
    low = int(np.searchsorted(ordered, -np.inf, side="right"))
    high = int(np.searchsorted(ordered, np.inf, side="left"))
    return ordered[low:high]


def count_distinct(sorted_values: FloatArray) -> int:
    """How many distinct values a sorted array holds."""
    if sorted_values.size == 0:
        return 0
    return 1 + int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1]))


def build_profile(
    series: pd.Series,
    column: Column,
    *,
    psi_bins: int,
    low_cardinality: int,
    max_categories: int,
) -> Profile:
    """Learn one column; a numeric column with few distinct values is profiled as categorical."""
    rows = len(series)
    if column.kind == "timestamp":
        return SkippedProfile(
            "timestamp", "a timestamp column: time moves on, so it is not compared"
        )
    if column.kind == "categorical":
        counts, _ = count_categories(series)
        reason = _identifier_like(counts, max_categories)
        if reason is not None and not column.forced:
            return SkippedProfile("categorical", reason)
        return CategoricalProfile.from_counts(counts, rows)
    values = sorted_column(series, column.name)
    if not column.forced and 0 < count_distinct(values) <= low_cardinality:
        return CategoricalProfile.from_counts(counts_from_sorted(values), rows)
    return NumericProfile.from_sorted(values, rows, psi_bins)


IDENTIFIER_MIN_ROWS = 20
"""Below this many present values a column is too small to call identifier-like."""


def _identifier_like(counts: dict[str, int], max_categories: int) -> str | None:
    """Why a categorical column looks like an identifier or free text, or None."""
    distinct, present = len(counts), sum(counts.values())
    if distinct > max_categories:
        return (
            f"{distinct} distinct values (more than max_categories={max_categories}): "
            "an identifier or free text? list it in ignore, or raise max_categories"
        )
    if present >= IDENTIFIER_MIN_ROWS and distinct > present / 2:
        return (
            f"{distinct} distinct values in {present} rows: an identifier or free text? "
            "list it in ignore, or in categorical to test it anyway"
        )
    return None
