"""Performance comparison: direction, relative drop, the 5% default, a zero baseline."""

from __future__ import annotations

import numpy as np
import pytest

from ferry.drift.performance import METRICS, compare, score
from ferry.errors import InvalidInput


@pytest.mark.parametrize(
    ("metric", "baseline", "current", "drop", "drifted"),
    [
        ("accuracy", 0.9, 0.86, 0.04 / 0.9, False),
        ("accuracy", 0.9, 0.85, 0.05 / 0.9, True),
        ("r2", 0.5, 0.6, -0.2, False),
        ("mae", 2.0, 2.2, 0.1, True),
        ("log_loss", 0.3, 0.2, -1 / 3, False),
    ],
)
def test_compare(metric: str, baseline: float, current: float, drop: float, drifted: bool) -> None:
    result = compare(metric, baseline, current, 0.05, rows=10)
    assert result.relative_drop == pytest.approx(drop)
    assert result.drifted is drifted


def test_zero_baseline_has_no_relative_drop() -> None:
    assert compare("rmse", 0.0, 0.1, 0.05, rows=3).relative_drop is None
    assert compare("rmse", 0.0, 0.1, 0.05, rows=3).drifted
    assert not compare("rmse", 0.0, 0.0, 0.05, rows=3).drifted


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_scores_a_perfect_model_as_perfect(metric: str) -> None:
    labels = np.array([0, 1, 1, 0, 1, 0])
    predictions = labels.astype(float)
    value, rows = score(metric, labels, predictions)
    assert rows == 6
    perfect = {"log_loss": 0.0, "rmse": 0.0, "mae": 0.0}.get(metric, 1.0)
    assert value == pytest.approx(perfect, abs=1e-6)


def test_multiclass_uses_macro_average() -> None:
    value, _ = score("f1", np.array(["a", "b", "c", "a"]), np.array(["a", "b", "b", "a"]))
    assert value == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)


def test_mismatched_lengths_are_named() -> None:
    with pytest.raises(InvalidInput, match="labels have 3 rows but predictions have 2"):
        score("accuracy", [1, 0, 1], [1, 0])
