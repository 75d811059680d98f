"""Column typing: dtype first, cardinality second, the user's lists above both."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector
from ferry.drift.columns import plan_columns
from ferry.errors import InvalidInput


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = 200
    return pd.DataFrame(
        {
            "amount": rng.normal(size=rows),
            "count": rng.integers(0, 100, rows),
            "code": rng.integers(0, 4, rows),
            "city": rng.choice(["a", "b"], rows),
            "flag": rng.random(rows) < 0.5,
            "segment": pd.Categorical(rng.choice(["x", "y"], rows)),
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "id": [f"user-{index}" for index in range(rows)],
        }
    )


def _types(detector: DriftDetector, frame: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    report = detector.fit(frame).check(frame)
    return {feature.name: (feature.type, feature.tested) for feature in report.features}


def test_types_from_dtype_and_cardinality() -> None:
    assert _types(DriftDetector(), _frame()) == {
        "amount": ("numeric", True),
        "count": ("numeric", True),
        "code": ("categorical", True),  # integers with 4 distinct values
        "city": ("categorical", True),
        "flag": ("categorical", True),
        "segment": ("categorical", True),
        "when": ("timestamp", False),  # listed, never compared
        "id": ("categorical", False),  # one value per row: an identifier
    }


def test_user_lists_override_inference() -> None:
    detector = DriftDetector(numeric=["code"], categorical=["count", "id"], ignore=["when"])
    types = _types(detector, _frame())
    assert types["code"] == ("numeric", True)
    assert types["count"] == ("categorical", True)
    assert types["id"] == ("categorical", True)
    assert "when" not in types


def test_low_cardinality_limit_is_a_parameter() -> None:
    types = _types(DriftDetector(low_cardinality=0), _frame())
    assert types["code"] == ("numeric", True)


def test_too_many_categories_are_not_compared() -> None:
    frame = pd.DataFrame({"city": [f"c{index % 30}" for index in range(300)], "x": range(300)})
    report = DriftDetector(max_categories=20).fit(frame).check(frame)
    city = report.features[0]
    assert not city.tested
    assert city.note is not None and "max_categories=20" in city.note


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"categorical": ["nope"]}, "categorical names columns the reference does not have"),
        ({"ignore": "when"}, "must be a list of column names"),
        ({"categorical": ["city"], "numeric": ["city"]}, "both categorical and numeric"),
        ({"numeric": ["city"]}, "listed as numeric but has dtype"),
    ],
)
def test_bad_column_lists_are_named(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        DriftDetector(**options).fit(_frame())  # type: ignore[arg-type]


def test_ignoring_everything_is_an_error() -> None:
    frame = _frame()[["amount"]]
    with pytest.raises(InvalidInput, match="no column is left"):
        plan_columns(frame, categorical=(), numeric=(), ignore=("amount",))
