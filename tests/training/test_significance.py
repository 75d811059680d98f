"""Paired tests: the weighted metrics equal scikit-learn's, and the p-values mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn import metrics

from ferry.errors import InvalidInput
from ferry.training.evaluation import Evaluation
from ferry.training.significance import mcnemar, paired_bootstrap, weighted_metric

RNG = np.random.default_rng(7)


def _classification(truth, predicted, probabilities=None, classes=None):
    return Evaluation("classification", {}, np.asarray(truth), np.asarray(predicted),
                      probabilities, classes)  # fmt: skip


def _regression(truth, predicted):
    return Evaluation("regression", {}, np.asarray(truth, float), np.asarray(predicted, float))


def _unit(rows):
    return np.ones((1, rows))


@pytest.mark.parametrize("labels", [[0, 1], ["a", "b", "c"]])
def test_unit_weights_give_sklearns_classification_metrics(labels):
    truth = RNG.choice(labels, 300)
    predicted = np.where(RNG.random(300) < 0.7, truth, RNG.choice(labels, 300))
    result = _classification(truth, predicted)
    average = "binary" if labels == [0, 1] else "macro"
    expected = {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "precision": metrics.precision_score(truth, predicted, average=average),
        "recall": metrics.recall_score(truth, predicted, average=average),
        "f1": metrics.f1_score(truth, predicted, average=average),
    }
    for name, value in expected.items():
        assert weighted_metric(name, _unit(300), result)[0] == pytest.approx(value), name


def test_unit_weights_give_sklearns_log_loss():
    truth = RNG.choice([0, 1, 2], 200)
    probabilities = RNG.dirichlet([1, 1, 1], 200)
    result = _classification(truth, probabilities.argmax(1), probabilities, np.array([0, 1, 2]))
    expected = metrics.log_loss(truth, probabilities, labels=[0, 1, 2])
    assert weighted_metric("log_loss", _unit(200), result)[0] == pytest.approx(expected)


def test_unit_weights_give_sklearns_regression_metrics():
    truth = RNG.normal(size=250)
    predicted = truth + RNG.normal(scale=0.5, size=250)
    result = _regression(truth, predicted)
    assert weighted_metric("rmse", _unit(250), result)[0] == pytest.approx(
        metrics.root_mean_squared_error(truth, predicted)
    )
    assert weighted_metric("mae", _unit(250), result)[0] == pytest.approx(
        metrics.mean_absolute_error(truth, predicted)
    )
    assert weighted_metric("r2", _unit(250), result)[0] == pytest.approx(
        metrics.r2_score(truth, predicted)
    )


def test_integer_weights_equal_repeating_rows():
    truth = RNG.normal(size=40)
    predicted = truth + RNG.normal(size=40)
    weights = RNG.integers(0, 3, size=(1, 40)).astype(float)
    repeated = np.repeat(np.arange(40), weights[0].astype(int))
    expected = metrics.r2_score(truth[repeated], predicted[repeated])
    assert weighted_metric("r2", weights, _regression(truth, predicted))[0] == pytest.approx(
        expected
    )


def test_mcnemar_counts_discordant_rows_and_is_one_sided():
    truth = np.zeros(30, dtype=int)
    candidate = truth.copy()
    champion = truth.copy()
    champion[:9] = 1  # the candidate alone is right on 9 rows
    candidate[20:21] = 1  # the champion alone is right on 1 row
    result = mcnemar(_classification(truth, candidate), _classification(truth, champion))
    assert result.details == {"candidate_only_right": 9, "champion_only_right": 1}
    assert result.p_value == pytest.approx(binomtest(9, 10, 0.5, alternative="greater").pvalue)
    reverse = mcnemar(_classification(truth, champion), _classification(truth, candidate))
    assert reverse.p_value > 0.9


def test_identical_predictions_are_never_significant():
    truth = RNG.choice([0, 1], 100)
    same = _classification(truth, truth)
    assert mcnemar(same, same).p_value == 1.0
    values = _regression(RNG.normal(size=100), RNG.normal(size=100))
    assert paired_bootstrap("rmse", values, values, samples=200).p_value == 1.0


def test_bootstrap_sees_a_real_improvement_and_is_seeded():
    truth = RNG.normal(size=300)
    good = _regression(truth, truth + RNG.normal(scale=0.3, size=300))
    bad = _regression(truth, truth + RNG.normal(scale=1.0, size=300))
    better = paired_bootstrap("rmse", good, bad, samples=500, random_state=1)
    assert better.p_value < 0.01
    low, high = better.details["gain_ci95"]
    assert 0 < low < high
    assert paired_bootstrap("rmse", bad, good, samples=500).p_value > 0.99
    again = paired_bootstrap("rmse", good, bad, samples=500, random_state=1)
    assert again == better


def test_bootstrap_refuses_rank_metrics():
    truth = RNG.choice([0, 1], 50)
    with pytest.raises(InvalidInput, match="roc_auc"):
        paired_bootstrap("roc_auc", _classification(truth, truth), _classification(truth, truth))
