"""Column sketches: built per partition, merged per column, small enough for the driver.

A numeric sketch is the column's distinct finite values with their counts, plus exact row,
missing and moment counts (count, mean, sum of squared deviations, min, max). While a sketch
holds at most :data:`SKETCH_POINTS` distinct values it is exact; past that it is compressed into
that many weighted points, each standing for a run of neighbouring values, which moves any
point of the empirical CDF by at most ``1 / SKETCH_POINTS`` per compression. A categorical
sketch is exact category counts under ferry's canonical keys (see ``drift/categories.py``).

Sketches merge associatively (moments by Chan's formula, points by value), so partitions can
be merged in any order on any executor; the driver receives one sketch per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.drift.categories import count_categories
from ferry.drift.columns import numeric_values

FloatArray = NDArray[np.float64]

SKETCH_POINTS = 16_384
"""Weighted points a numeric sketch keeps per column; the CDF error bound is 1 / this."""

SAMPLE_POINTS = 65_536
"""Equal-weight points the driver draws from a compressed sketch for the drift tests."""

EXACT_LIMIT = 5_000_000
"""An exact sketch is expanded to every value on the driver up to this many values."""


@dataclass(frozen=True, eq=False)
class Sketch:
    """One column of one partition (or of many, merged)."""

    column: str
    kind: str
    rows: int
    missing: int
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = np.inf
    maximum: float = -np.inf
    values: FloatArray | None = None
    weights: FloatArray | None = None
    exact: bool = True
    categories: dict[str, int] | None = None


def numeric_sketch(column: str, series: pd.Series) -> Sketch:
    """The sketch of one batch of a numeric column."""
    raw = numeric_values(series, column)
    finite = raw[np.isfinite(raw)]
    rows = len(series)
    if finite.size == 0:
        return Sketch(column, "numeric", rows, rows, values=np.empty(0), weights=np.empty(0))
    values, counts = np.unique(finite, return_counts=True)
    mean = float(finite.mean())
    sketch = Sketch(
        column, "numeric", rows, rows - finite.size, count=int(finite.size), mean=mean,
        m2=float(np.square(finite - mean).sum()), minimum=float(values[0]),
        maximum=float(values[-1]), values=values, weights=counts.astype(np.float64),
    )  # fmt: skip
    return _bounded(sketch)


def categorical_sketch(column: str, series: pd.Series) -> Sketch:
    """The sketch of one batch of a categorical column (exact counts)."""
    counts, missing = count_categories(series)
    return Sketch(column, "categorical", len(series), missing, categories=counts)


def merge(sketches: Sequence[Sketch]) -> Sketch:
    """One sketch for the union of the data the given sketches describe (same column)."""
    first = sketches[0]
    rows = sum(s.rows for s in sketches)
    missing = sum(s.missing for s in sketches)
    if first.kind == "categorical":
        if not all(s.exact for s in sketches):  # one part was capped: the whole column is
            return Sketch(first.column, "categorical", rows, missing, exact=False)
        merged: dict[str, int] = {}
        for sketch in sketches:
            for key, count in (sketch.categories or {}).items():
                merged[key] = merged.get(key, 0) + count
        return Sketch(first.column, "categorical", rows, missing, categories=merged)
    count, mean, m2 = _moments(sketches)
    values = np.concatenate([s.values for s in sketches if s.values is not None])
    weights = np.concatenate([s.weights for s in sketches if s.weights is not None])
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    if values.size:
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        values, weights = values[starts], np.add.reduceat(weights, starts)
    sketch = Sketch(
        first.column, "numeric", rows, missing, count=count, mean=mean, m2=m2,
        minimum=min(s.minimum for s in sketches), maximum=max(s.maximum for s in sketches),
        values=values, weights=weights, exact=all(s.exact for s in sketches),
    )  # fmt: skip
    return _bounded(sketch)


def _moments(sketches: Iterable[Sketch]) -> tuple[int, float, float]:
    """Count, mean and sum of squared deviations of the union (Chan et al.'s pairwise rule)."""
    count, mean, m2 = 0, 0.0, 0.0
    for sketch in sketches:
        if sketch.count == 0:
            continue
        total = count + sketch.count
        delta = sketch.mean - mean
        mean += delta * sketch.count / total
        m2 += sketch.m2 + delta * delta * count * sketch.count / total
        count = total
    return count, mean, m2


def _bounded(sketch: Sketch) -> Sketch:
    """The sketch itself, or compressed to :data:`SKETCH_POINTS` weighted points."""
    values, weights = sketch.values, sketch.weights
    if values is None or weights is None or values.size <= SKETCH_POINTS:
        return sketch
    cumulative = np.cumsum(weights)
    share = (cumulative - weights / 2) * SKETCH_POINTS / cumulative[-1]
    bucket = np.minimum(share.astype(np.int64), SKETCH_POINTS - 1)
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.append(starts[1:], values.size)
    middles = (starts + ends - 1) // 2
    return Sketch(
        sketch.column, "numeric", sketch.rows, sketch.missing, count=sketch.count,
        mean=sketch.mean, m2=sketch.m2, minimum=sketch.minimum, maximum=sketch.maximum,
        values=values[middles], weights=np.add.reduceat(weights, starts), exact=False,
    )  # fmt: skip


def sorted_sample(sketch: Sketch) -> FloatArray:
    """Sorted values standing for the column: all of them when the sketch is exact (and not
    too many), else :data:`SAMPLE_POINTS` equal-weight quantiles with the true min and max."""
    values, weights = sketch.values, sketch.weights
    if values is None or weights is None or values.size == 0:
        return np.empty(0, dtype=np.float64)
    if sketch.exact and sketch.count <= EXACT_LIMIT:
        expanded: FloatArray = np.repeat(values, weights.astype(np.int64))
        return expanded
    cumulative = np.cumsum(weights)
    levels = (np.arange(SAMPLE_POINTS) + 0.5) * (cumulative[-1] / SAMPLE_POINTS)
    index = np.minimum(np.searchsorted(cumulative, levels, side="left"), values.size - 1)
    sample: FloatArray = values[index].astype(np.float64)
    sample[0], sample[-1] = sketch.minimum, sketch.maximum
    return sample


def is_sample_exact(sketch: Sketch) -> bool:
    """Whether :func:`sorted_sample` returns every value of the column."""
    return sketch.exact and sketch.count <= EXACT_LIMIT
