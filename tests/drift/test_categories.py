"""One spelling per category, whatever dtype a file gave it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift.categories import AlignedCounts, category_key, count_categories


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (1, "1"),
        (np.int64(1), "1"),
        (1.0, "1"),
        (np.float32(2.0), "2"),
        ("1", "1"),
        (True, "True"),
        (np.bool_(False), "False"),
        (0.5, "0.5"),
        ("north", "north"),
    ],
)
def test_canonical_keys(value: object, key: str) -> None:
    assert category_key(value) == key


def test_integer_codes_match_their_float_spelling_with_missing_values() -> None:
    """A CSV column of codes turns float64 as soon as one value is missing."""
    ints, _ = count_categories(pd.Series([1, 2, 2, 3]))
    floats, missing = count_categories(pd.Series([1.0, 2.0, np.nan, 2.0, 3.0]))
    assert ints == floats == {"1": 1, "2": 2, "3": 1}
    assert missing == 1


def test_unused_levels_of_a_pandas_categorical_are_not_observations() -> None:
    series = pd.Series(pd.Categorical(["a", "a"], categories=["a", "b"]))
    assert count_categories(series) == ({"a": 2}, 0)


def test_missing_values_of_every_kind_are_counted() -> None:
    series = pd.Series(["a", None, np.nan, "b"], dtype=object)
    assert count_categories(series) == ({"a": 1, "b": 1}, 2)


def test_alignment_puts_unseen_categories_last_most_frequent_first() -> None:
    aligned = AlignedCounts.align(
        ("a", "b"), np.array([3, 1], dtype=np.int64), {"z": 1, "b": 2, "y": 5}
    )
    assert aligned.categories == ("a", "b", "y", "z")
    assert aligned.reference.tolist() == [3, 1, 0, 0]
    assert aligned.current.tolist() == [0, 2, 5, 1]
    assert aligned.unseen == ("y", "z")


def test_unhashable_values_are_compared_as_text() -> None:
    series = pd.Series([[1, 2], [1, 2], {"a": 1}, None], dtype=object)
    assert count_categories(series) == ({"[1, 2]": 2, "{'a': 1}": 1}, 1)
