"""The promotion policy's verdicts and the retrain policy's reading of drift reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector
from ferry.errors import InvalidInput
from ferry.training.evaluation import Evaluation
from ferry.training.metrics import classification_metrics
from ferry.training.policy import PromotionPolicy, RetrainPolicy

RNG = np.random.default_rng(3)
TRUTH = RNG.choice([0, 1], 400)


def _model(accuracy: float, seed: int) -> Evaluation:
    """Predictions right on about ``accuracy`` of the rows."""
    rng = np.random.default_rng(seed)
    predicted = np.where(rng.random(len(TRUTH)) < accuracy, TRUTH, 1 - TRUTH)
    metrics = classification_metrics(TRUTH, predicted, None, None)
    return Evaluation("classification", metrics, TRUTH, predicted)


STRONG, WEAK, WEAK_TWIN = _model(0.95, 1), _model(0.70, 2), _model(0.71, 3)


def test_the_first_model_is_promoted_even_below_a_floor():
    decision = PromotionPolicy("f1", floors={"recall": 0.99}).decide(WEAK, None)
    assert decision.decision == "promoted"
    assert "first model" in decision.reason and "recall" in decision.reason


def test_a_clearly_better_candidate_is_promoted_with_its_test():
    decision = PromotionPolicy("f1").decide(STRONG, WEAK)
    assert decision.decision == "promoted"
    assert decision.test is not None and decision.test.test == "mcnemar"
    assert decision.test.p_value < 0.001 and decision.gain is not None and decision.gain > 0.2


def test_a_worse_candidate_is_rejected_on_its_gain():
    decision = PromotionPolicy("f1").decide(WEAK, STRONG)
    assert decision.decision == "rejected" and "below min_improvement" in decision.reason


def test_a_small_gain_is_rejected_when_not_significant():
    policy = PromotionPolicy("accuracy")
    decision = policy.decide(WEAK_TWIN, WEAK)
    assert WEAK_TWIN.metrics["accuracy"] > WEAK.metrics["accuracy"]
    assert decision.decision == "rejected" and "not significant" in decision.reason
    unchecked = PromotionPolicy("accuracy", significance=None).decide(WEAK_TWIN, WEAK)
    assert unchecked.decision == "promoted" and "skipped" in unchecked.reason


def test_min_improvement_is_an_absolute_gain():
    gain = STRONG.metrics["f1"] - WEAK.metrics["f1"]
    assert PromotionPolicy("f1", min_improvement=gain + 0.01).decide(STRONG, WEAK).decision == (
        "rejected"
    )
    assert PromotionPolicy("f1", min_improvement=gain - 0.01).decide(STRONG, WEAK).decision == (
        "promoted"
    )


def test_a_floor_blocks_a_winner_and_losses_have_ceilings():
    floored = PromotionPolicy("f1", floors={"recall": 0.999}).decide(STRONG, WEAK)
    assert floored.decision == "rejected" and floored.failed_floors
    assert "recall" in floored.reason
    missing = PromotionPolicy("f1", floors={"log_loss": 0.3}).decide(STRONG, WEAK)
    assert missing.decision == "rejected" and "log_loss unavailable" in missing.reason


def test_regression_uses_the_paired_bootstrap_on_a_loss():
    truth = RNG.normal(size=300)
    good = Evaluation("regression", {"rmse": 0.3}, truth, truth + RNG.normal(scale=0.3, size=300))
    bad = Evaluation("regression", {"rmse": 1.0}, truth, truth + RNG.normal(scale=1.0, size=300))
    policy = PromotionPolicy("rmse", task="regression", bootstrap_samples=300)
    decision = policy.decide(good, bad)
    assert decision.decision == "promoted" and decision.test is not None
    assert decision.test.test == "bootstrap" and decision.gain == pytest.approx(0.7)
    assert policy.decide(bad, good).decision == "rejected"


def test_force_promotes_and_says_what_the_policy_thought():
    decision = PromotionPolicy("f1").decide(WEAK, STRONG, force=True)
    assert decision.promotes and decision.decision == "forced"
    assert decision.reason.startswith("forced; the policy would reject")


def test_a_bad_test_name_is_refused_when_used():
    policy = PromotionPolicy("f1", test="t-test")
    assert policy.get_params()["test"] == "t-test"
    with pytest.raises(InvalidInput, match="t-test"):
        policy.decide(STRONG, WEAK)


@pytest.fixture(scope="module")
def detector():
    reference = pd.DataFrame({f"x{i}": RNG.normal(size=2000) for i in range(5)})
    return DriftDetector().fit(reference)


def test_retrain_on_data_drift_names_the_features(detector):
    current = pd.DataFrame({f"x{i}": RNG.normal(size=1000) for i in range(5)})
    current["x1"] += 1.0
    current["x3"] *= 3
    report = detector.check(current)
    decision = RetrainPolicy().decide(report)
    assert decision.retrain and "x1" in decision.reasons[0] and "x3" in decision.reasons[0]
    assert not RetrainPolicy(on=["performance"]).decide(report).retrain


def test_no_retrain_without_drift(detector):
    current = pd.DataFrame({f"x{i}": RNG.normal(size=1000) for i in range(5)})
    assert RetrainPolicy().decide(detector.check(current)).retrain is False
    with pytest.raises(InvalidInput, match="weather"):
        RetrainPolicy(on=["weather"]).decide(detector.check(current))
