"""Scoring a feedback label against the answer it is for, and remembering answers by request."""

from __future__ import annotations

import numpy as np

from ferry.serving.outcomes import Answered, AnsweredRequests, Moments, scores


def test_labels_score_classifications_and_regressions():
    assert scores("classifier", np.array([1, 0]), 1)["accuracy"].tolist() == [1.0, 0.0]
    assert scores("classifier", np.array(["yes"]), "yes")["accuracy"].tolist() == [1.0]
    assert scores("classifier", np.array([1.0]), True)["accuracy"].tolist() == [1.0]
    errors = scores("regressor", np.array([[2.5], [1.0]]), 2)
    assert errors["squared_error"].tolist() == [0.25, 1.0]
    assert errors["absolute_error"].tolist() == [0.5, 1.0]
    assert scores("regressor", np.array([2.5]), "high") == {}
    assert scores("regressor", np.array([2.5]), float("nan")) == {}
    assert scores("clusterer", np.array([3]), 3) == {}


def test_moments_give_the_mean_and_sample_variance():
    moments = Moments()
    moments.observe(np.array([1.0, 2.0, 4.0]))
    assert moments.mean == 7 / 3
    assert np.isclose(moments.variance, np.var([1.0, 2.0, 4.0], ddof=1))
    assert Moments().mean is None and Moments.from_dict(moments.to_dict()) == moments


def test_an_answer_is_claimed_once_and_the_oldest_are_forgotten():
    answered = AnsweredRequests(capacity=2)
    for request in ("a", "b", "c"):
        answered.remember(request, Answered(1, "candidate", "classifier", np.array([1])))
    assert len(answered) == 2 and answered.claim("a") is None
    assert answered.claim("b") is not None and answered.claim("b") is None
