"""Prediction distributions of two variants, and the PSI or Jensen-Shannon distance between them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from ferry.serving.distance import count_predictions, distance


def _counted(task, *answers):
    into = {"classes": Counter(), "values": Counter()}
    for predictions in answers:
        count_predictions(task, np.asarray(predictions), into)
    return into


def test_classes_are_counted_under_one_spelling_and_compared():
    primary = _counted("classifier", [1, 1, 0], np.array([1.0, 0.0]), [1, 1, 1, 0, 0])
    assert primary["classes"] == Counter({"1": 6, "0": 4})
    same = _counted("classifier", [0, 1, 1, 0, 1] * 2)
    assert distance("psi", primary, same) == pytest.approx(0.0)
    assert distance("js", primary, same) == pytest.approx(0.0)
    shifted = _counted("classifier", [0] * 8 + [1] * 2 + ["2"] * 0)
    p, q = np.array([0.4, 0.6]), np.array([0.8, 0.2])
    assert distance("psi", primary, shifted) == pytest.approx(
        float(np.sum((q - p) * np.log(q / p)))
    )
    assert distance("js", primary, shifted) == pytest.approx(float(jensenshannon(p, q, base=2)))


def test_regression_values_are_binned_on_the_primary():
    rng = np.random.default_rng(0)
    primary = _counted("regressor", rng.normal(10, 1, 2000))
    equal = _counted("regressor", rng.normal(10, 1, 2000))
    shifted = _counted("regressor", rng.normal(13, 1, 2000))
    assert distance("psi", primary, equal) < 0.05
    assert distance("psi", primary, shifted) > 1.0
    assert distance("js", primary, equal) < 0.1 < 0.5 < distance("js", primary, shifted)


def test_no_distance_until_both_sides_predicted():
    assert distance("psi", _counted("classifier", [1]), _counted("classifier")) is None
    assert _counted("transformer", [[0.1, 0.2]]) == {"classes": Counter(), "values": Counter()}
