"""Bad input gives a named error or a "not testable" entry; never a crash, never a NaN."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector, DriftReport, FeatureDrift
from ferry.errors import InvalidInput


def _reference(rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.normal(size=rows),
            "age": rng.integers(18, 90, rows),
            "city": rng.choice(["a", "b", "c"], rows),
        }
    )


def _entry(report: DriftReport, name: str) -> FeatureDrift:
    return next(feature for feature in report.features if feature.name == name)


def _assert_clean(report: DriftReport) -> None:
    """Standard JSON (no NaN/Infinity) and a boolean decision everywhere."""
    text = report.to_json()
    json.loads(text, parse_constant=lambda constant: pytest.fail(f"{constant} in the JSON"))
    assert all(isinstance(feature.drifted, bool) for feature in report.features)
    assert isinstance(report.drift, bool)


@pytest.mark.parametrize("role", ["reference", "current"])
def test_empty_frames_are_named(role: str) -> None:
    empty = _reference().iloc[:0]
    with pytest.raises(InvalidInput, match=f"the {role} data has no rows"):
        if role == "reference":
            DriftDetector().fit(empty)
        else:
            DriftDetector().fit(_reference()).check(empty)


def test_a_frame_without_columns_is_named() -> None:
    with pytest.raises(InvalidInput, match="has no columns"):
        DriftDetector().fit(pd.DataFrame(index=range(3)))


def test_not_a_dataframe_is_named() -> None:
    with pytest.raises(InvalidInput, match="must be a pandas DataFrame, got ndarray"):
        DriftDetector().fit(np.zeros((3, 2)))  # type: ignore[arg-type]


def test_duplicate_column_names_are_named() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InvalidInput, match=r"duplicate column names: \['a'\]"):
        DriftDetector().fit(frame)


def test_columns_missing_from_current_are_all_named() -> None:
    detector = DriftDetector().fit(_reference())
    with pytest.raises(InvalidInput, match=r"lacks columns of the reference: \['amount', 'city'\]"):
        detector.check(_reference()[["age"]])


def test_extra_current_columns_are_ignored() -> None:
    current = _reference().assign(extra=1)
    report = DriftDetector().fit(_reference()).check(current)
    assert [feature.name for feature in report.features] == ["amount", "age", "city"]


def test_all_missing_reference_column_is_not_testable() -> None:
    reference = _reference().assign(amount=np.nan)
    report = DriftDetector().fit(reference).check(reference)
    amount = _entry(report, "amount")
    assert amount.statistic is None and not amount.drifted
    assert amount.note is not None and "reference has no values" in amount.note
    _assert_clean(report)


def test_all_missing_current_column_drifts_through_its_missing_rate() -> None:
    current = _reference().assign(amount=np.nan, city=None)
    report = DriftDetector().fit(_reference()).check(current)
    for name in ("amount", "city"):
        entry = _entry(report, name)
        assert entry.drifted and entry.statistic is None
        assert entry.reasons == ("missing rate 0.0% -> 100.0%",)
        assert entry.note is not None and "current data has no values" in entry.note
    _assert_clean(report)


def test_a_small_rise_in_missing_values_is_not_drift() -> None:
    current = _reference()
    current.loc[:9, "amount"] = np.nan  # 2% missing: below the 5-point threshold
    report = DriftDetector().fit(_reference()).check(current)
    assert not _entry(report, "amount").drifted
    assert _entry(report, "amount").stats["missing_rate"]["statistic"] == pytest.approx(0.02)


def test_constant_reference_column_is_still_tested_by_ks() -> None:
    reference = _reference().assign(amount=3.0)
    detector = DriftDetector(numeric=["amount"]).fit(reference)
    same = _entry(detector.check(reference), "amount")
    moved = _entry(detector.check(_reference()), "amount")
    assert same.statistic == 0.0 and not same.drifted
    assert moved.drifted
    assert moved.stats["mean_shift"]["statistic"] is None
    assert "std 0" in moved.stats["wasserstein"]["note"]
    _assert_clean(detector.check(_reference()))


def test_constant_reference_column_under_an_effect_size_is_not_testable() -> None:
    reference = _reference().assign(amount=3.0)
    detector = DriftDetector(numeric=["amount"], numeric_test="mean_shift").fit(reference)
    entry = _entry(detector.check(_reference()), "amount")
    assert entry.statistic is None and not entry.drifted
    assert entry.note is not None and "constant" in entry.note


def test_dtype_mismatch_is_named_with_an_example() -> None:
    current = _reference().astype({"amount": object})
    current.loc[3, "amount"] = "n/a?"
    detector = DriftDetector().fit(_reference())
    with pytest.raises(InvalidInput, match=r"column 'amount' is numeric .* \(e.g. "):
        detector.check(current)


def test_numbers_stored_as_text_objects_are_accepted() -> None:
    current = _reference().astype({"amount": object})
    report = DriftDetector().fit(_reference()).check(current)
    assert _entry(report, "amount").statistic == 0.0


def test_categorical_codes_read_as_floats_still_match() -> None:
    reference = pd.DataFrame({"code": [1, 2, 3, 1, 2, 3] * 50})
    current = pd.DataFrame({"code": [1.0, 2.0, 3.0, np.nan, 2.0, 3.0] * 50})
    report = DriftDetector().fit(reference).check(current)
    code = _entry(report, "code")
    assert code.type == "categorical"
    assert code.stats["unseen"]["statistic"] == 0.0


def test_infinities_count_as_missing() -> None:
    current = _reference()
    current.loc[:99, "amount"] = np.inf
    report = DriftDetector().fit(_reference()).check(current)
    amount = _entry(report, "amount")
    assert amount.stats["missing_rate"]["current"] == 0.2
    assert amount.drifted
    _assert_clean(report)


def test_nullable_dtypes_are_read() -> None:
    reference = _reference().astype({"age": "Int64", "amount": "Float64"})
    reference.loc[0, "age"] = pd.NA
    report = DriftDetector().fit(reference).check(reference)
    assert not report.drift
    _assert_clean(report)
