"""Category counts under one spelling, so a reference and current data can be lined up.

Files disagree about types: a CSV column of codes reads as ``int64`` until one value is missing,
then as ``float64``; Parquet may hand back the same codes as strings. Every category is therefore
counted under a canonical text key (``1``, ``1.0`` and ``"1"`` are all ``"1"``; ``True`` is
``"True"``), and only the distinct values are converted, never the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


def category_key(value: object) -> str:
    """The canonical text of one category value."""
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


def count_categories(series: pd.Series) -> tuple[dict[str, int], int]:
    """Counts per canonical category and the number of missing values."""
    try:
        counts = series.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable values (lists, dicts): compare their text
        counts = series.dropna().map(str).value_counts(sort=False)
    merged: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        if count == 0:
            continue  # an unused level of a pandas Categorical is not an observation
        key = category_key(value)
        merged[key] = merged.get(key, 0) + int(count)
    missing = len(series) - sum(merged.values())
    return merged, missing


def counts_from_sorted(values: NDArray[np.float64]) -> dict[str, int]:
    """Counts per canonical category of sorted finite numbers (a low-cardinality column)."""
    if values.size == 0:
        return {}
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    sizes = np.diff(np.append(starts, values.size))
    merged: dict[str, int] = {}
    for value, size in zip(values[starts], sizes, strict=True):
        key = category_key(float(value))
        merged[key] = merged.get(key, 0) + int(size)
    return merged


@dataclass(frozen=True, eq=False)
class AlignedCounts:
    """Reference and current counts over the same categories: the reference's, then unseen ones.

    The last ``len(unseen)`` entries are the categories the reference never had, most frequent
    first, so every test sees new categories as mass the reference did not have.
    """

    categories: tuple[str, ...]
    reference: IntArray
    current: IntArray
    unseen: tuple[str, ...]

    @classmethod
    def align(
        cls, categories: tuple[str, ...], reference: IntArray, current: Mapping[str, int]
    ) -> AlignedCounts:
        """Line ``current`` up with the reference's categories; new ones go last."""
        known = set(categories)
        unseen = sorted((key for key in current if key not in known), key=lambda k: -current[k])
        cur = np.array(
            [current.get(key, 0) for key in categories] + [current[key] for key in unseen],
            dtype=np.int64,
        )
        ref = np.concatenate((reference, np.zeros(len(unseen), dtype=np.int64)))
        return cls(categories + tuple(unseen), ref, cur, tuple(unseen))


def proportions(counts: IntArray) -> NDArray[np.float64]:
    """Counts divided by their total (all zeros stay zeros)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(counts.size, dtype=np.float64)
    return counts / total
