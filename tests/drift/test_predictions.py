"""Prediction drift (the same tests on the model's outputs) and performance drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector
from ferry.errors import InvalidInput


def _data(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, rows), "y": rng.normal(0.0, 1.0, rows)})


def _scores(frame: pd.DataFrame) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-frame["x"].to_numpy()))


def test_prediction_drift_on_scores_and_labels() -> None:
    reference, current = _data(5000, 0), _data(5000, 1, shift=0.7)
    detector = DriftDetector().fit(reference, predictions=_scores(reference))
    report = detector.check(current, predictions=_scores(current))
    assert report.prediction is not None and report.prediction_drift
    assert [f.name for f in report.prediction] == ["prediction"]
    assert report.to_dict()["prediction"]["drift"] is True
    stable = detector.check(_data(5000, 2), predictions=_scores(_data(5000, 2)))
    assert stable.prediction is not None and not stable.prediction_drift


def test_class_labels_are_compared_as_categories() -> None:
    reference, current = _data(4000, 0), _data(4000, 1, shift=0.7)
    labels = pd.Series((_scores(reference) > 0.5).astype(int), name="label")
    detector = DriftDetector().fit(reference, predictions=labels)
    report = detector.check(current, predictions=(_scores(current) > 0.5).astype(int))
    assert report.prediction is not None
    assert report.prediction[0].name == "label"  # outputs are matched by position
    assert report.prediction[0].type == "categorical" and report.prediction[0].test == "chi2"
    assert report.prediction_drift


def test_probability_matrices_are_one_column_per_class() -> None:
    reference = _data(2000, 0)
    probabilities = np.column_stack([1 - _scores(reference), _scores(reference)])
    report = (
        DriftDetector()
        .fit(reference, predictions=probabilities)
        .check(reference, predictions=probabilities)
    )
    assert report.prediction is not None
    assert [f.name for f in report.prediction] == ["prediction_0", "prediction_1"]


def test_predictions_need_a_fitted_counterpart_and_one_row_each() -> None:
    reference = _data(100, 0)
    with pytest.raises(InvalidInput, match="fitted without them"):
        DriftDetector().fit(reference).check(reference, predictions=np.zeros(100))
    with pytest.raises(InvalidInput, match="has 100 rows but its predictions have 99"):
        DriftDetector().fit(reference, predictions=np.zeros(99))
    detector = DriftDetector().fit(reference, predictions=np.zeros(100))
    with pytest.raises(InvalidInput, match="predictions have 2 columns but the reference's had 1"):
        detector.check(reference, predictions=np.zeros((100, 2)))


def test_performance_drift_against_a_recorded_baseline() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 1000)
    right = labels.copy()
    wrong = labels.copy()
    wrong[:150] = 1 - wrong[:150]  # accuracy 0.85
    frame = _data(1000, 0)
    detector = DriftDetector(performance_metric="accuracy", performance_baseline=0.9)
    detector.fit(frame, predictions=right)
    worse = detector.check(frame, predictions=wrong, labels=labels).performance
    assert worse is not None and worse.drifted
    assert worse.current == pytest.approx(0.85)
    assert worse.relative_drop == pytest.approx(0.05 / 0.9)
    better = detector.check(frame, predictions=right, labels=labels)
    assert better.performance is not None and not better.performance.drifted
    assert worse.to_dict()["metric"] == "accuracy"


def test_error_metrics_drift_when_they_rise() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=500)
    frame = _data(500, 0)
    detector = DriftDetector(performance_metric="rmse", performance_baseline=1.0)
    detector.fit(frame, predictions=truth)
    slightly = detector.check(frame, predictions=truth + 1.04, labels=truth).performance
    clearly = detector.check(frame, predictions=truth + 1.2, labels=truth).performance
    assert slightly is not None and not slightly.drifted  # 4% worse
    assert clearly is not None and clearly.drifted  # 20% worse


def test_baseline_from_labelled_reference_and_unknown_labels_skipped() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 400)
    frame = _data(400, 0)
    detector = DriftDetector(performance_metric="f1").fit(frame, predictions=labels, labels=labels)
    assert detector.performance_baseline_ == 1.0
    partial = labels.astype(float)
    partial[:100] = np.nan  # feedback not in yet
    performance = detector.check(frame, predictions=labels, labels=partial).performance
    assert performance is not None and performance.rows == 300 and not performance.drifted


def test_labels_without_a_metric_or_baseline_are_named() -> None:
    frame = _data(50, 0)
    labels = np.zeros(50)
    with pytest.raises(InvalidInput, match="performance_metric"):
        DriftDetector().fit(frame, predictions=labels).check(
            frame, predictions=labels, labels=labels
        )
    detector = DriftDetector(performance_metric="accuracy").fit(frame, predictions=labels)
    with pytest.raises(InvalidInput, match="no accuracy baseline"):
        detector.check(frame, predictions=labels, labels=labels)
