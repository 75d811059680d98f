"""Bad input gives a named error or a "not testable" entry; never a crash, never a NaN."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector, DriftReport, FeatureDrift
from ferry.drift.decision import EMPTY_REASON
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
    with pytest.raises(InvalidInput, match="pandas or polars DataFrame or a numpy array, got list"):
        DriftDetector().fit([[1.0, 2.0]])  # type: ignore[arg-type]


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


@pytest.mark.parametrize("empty", [np.nan, np.inf, None], ids=["nan", "inf", "none"])
def test_a_reference_column_without_values_is_refused(empty: object) -> None:
    reference = _reference().assign(amount=empty, city=None)
    with pytest.raises(InvalidInput, match=r"no values in columns \['amount', 'city'\].*ignore"):
        DriftDetector().fit(reference)
    report = DriftDetector(ignore=["amount", "city"]).fit(reference).check(_reference())
    assert [feature.name for feature in report.features] == ["age"]


def test_all_missing_current_column_drifts_and_is_listed_as_empty() -> None:
    current = _reference().assign(amount=np.nan, city=None)
    report = DriftDetector().fit(_reference()).check(current)
    for name in ("amount", "city"):
        entry = _entry(report, name)
        assert entry.drifted and entry.empty and entry.statistic is None
        assert entry.reasons == (EMPTY_REASON, "missing rate 0.0% -> 100.0%")
        assert entry.note is not None and "current data has no values" in entry.note
    assert report.empty_features == ("amount", "city")
    assert report.to_dict()["empty_features"] == ["amount", "city"]
    _assert_clean(report)


@pytest.mark.parametrize("empty", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_a_feature_that_arrives_empty_is_drift_whatever_the_batch_size(empty: float) -> None:
    """One column of 30 arrives empty in a batch of 5, where the reference was half missing:
    the missing-rate test alone cannot tell that from chance, and 1 of 30 is under drift_share.
    """
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({f"f{index}": rng.normal(size=400) for index in range(30)})
    reference.loc[:199, "f3"] = np.nan
    current = reference.iloc[200:205].assign(f3=empty)

    report = DriftDetector().fit(reference).check(current)

    assert report.empty_features == ("f3",)
    assert _entry(report, "f3").drifted
    assert report.drift_share < report.drift_share_threshold
    assert report.dataset_drift and report.drift
    assert [feature.name for feature in report.drifted_features] == ["f3"]
    _assert_clean(report)


def test_a_column_that_still_has_values_is_not_empty() -> None:
    current = _reference()
    current.loc[1:, "amount"] = np.nan
    report = DriftDetector().fit(_reference()).check(current)
    assert report.empty_features == ()
    assert not _entry(report, "amount").empty


@pytest.mark.parametrize("value", [1e308, -1e308, np.finfo(np.float64).max])
def test_values_at_the_float_limit_drift_with_finite_statistics(value: float) -> None:
    current = _reference().assign(amount=value)
    report = DriftDetector().fit(_reference()).check(current)
    amount = _entry(report, "amount")
    assert amount.drifted
    for test in ("ks", "wasserstein", "psi", "mean_shift"):
        statistic = amount.stats[test]["statistic"]
        assert statistic is not None and np.isfinite(statistic) and statistic > 0
    _assert_clean(report)


def test_a_reference_spanning_the_whole_float_range_is_measured() -> None:
    rng = np.random.default_rng(2)
    huge = np.finfo(np.float64).max
    reference = pd.DataFrame({"wide": rng.uniform(-1, 1, 500) * huge})
    detector = DriftDetector().fit(reference)
    same = _entry(detector.check(reference), "wide")
    moved = _entry(detector.check(reference.assign(wide=reference["wide"].abs())), "wide")
    assert not same.drifted and same.stats["mean_shift"]["statistic"] == 0.0
    assert moved.drifted
    assert 0.5 < moved.stats["mean_shift"]["statistic"] < 1.5
    assert 0.5 < moved.stats["wasserstein"]["statistic"] < 1.5
    _assert_clean(detector.check(reference))


def test_a_tiny_current_sample_gets_a_verdict_and_a_warning() -> None:
    report = DriftDetector().fit(_reference()).check(_reference().head(1))
    assert isinstance(report.drift, bool)
    assert report.warnings == (
        "the current data has 1 row (fewer than 30): the tests can miss real drift at this "
        "size, so treat the verdict as provisional and check more rows",
    )
    assert report.to_dict()["warnings"] == list(report.warnings)
    _assert_clean(report)


def test_enough_rows_give_no_warning_and_a_small_reference_is_named() -> None:
    assert DriftDetector().fit(_reference()).check(_reference().head(30)).warnings == ()
    small = DriftDetector().fit(_reference(12)).check(_reference())
    assert len(small.warnings) == 1
    assert small.warnings[0].startswith("the reference has 12 rows (fewer than 30)")


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
    with pytest.raises(InvalidInput, match=r"^column 'amount' is numeric .* \(e.g. "):
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
