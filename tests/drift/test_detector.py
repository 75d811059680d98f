"""DriftDetector: the scikit-learn contract, detection of injected drifts, decisions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from ferry.drift import DriftDetector
from ferry.errors import InvalidInput, NotReady

DRIFTED = {"shift", "variance", "mixture", "poisson", "strong", "mild"}
"""The columns tests/drift/conftest.py injects drift into; every other column is unchanged."""

Frames = tuple[pd.DataFrame, pd.DataFrame]


# -- the component contract ---------------------------------------------------------------


def test_constructor_only_stores_its_arguments() -> None:
    """Nothing is checked before fit: clone and set_params must round-trip any value."""
    detector = DriftDetector(correction="bogus", drift_share=7, categorical=["x"])
    assert detector.get_params()["correction"] == "bogus"
    assert not [name for name in vars(detector) if name.endswith("_")]
    with pytest.raises(InvalidInput, match="correction='bogus'"):
        detector.fit(pd.DataFrame({"x": [1.0, 2.0]}))


def test_clone_and_set_params() -> None:
    detector = DriftDetector(drift_share=0.3, thresholds={"ks": 0.01})
    copy = clone(detector)
    assert copy.get_params() == detector.get_params()
    assert copy.set_params(drift_share=0.5).drift_share == 0.5
    with pytest.raises(InvalidInput, match="no parameters"):
        copy.set_params(share=0.5)


def test_fit_learns_state_ending_in_underscore(frames_10k: Frames) -> None:
    reference, _ = frames_10k
    detector = DriftDetector()
    before = set(vars(detector))
    assert detector.fit(reference) is detector
    learned = set(vars(detector)) - before
    assert learned and all(name.endswith("_") for name in learned)
    assert detector.feature_names_in_ == list(reference.columns)


@pytest.mark.parametrize(
    "use", [lambda d: d.check(pd.DataFrame({"x": [1]})), lambda d: d.save("x")]
)
def test_unfitted_detector_says_call_fit(use: Callable[[DriftDetector], object]) -> None:
    with pytest.raises(NotReady, match="call fit"):
        use(DriftDetector())


def test_repr_shows_what_differs_from_the_defaults() -> None:
    assert repr(DriftDetector()) == "DriftDetector()"
    assert repr(DriftDetector(correction="fdr")) == "DriftDetector(correction='fdr')"


# -- detection ------------------------------------------------------------------------------


def test_finds_the_six_drifts_and_nothing_else_at_10k(frames_10k: Frames) -> None:
    reference, current = frames_10k
    report = DriftDetector().fit(reference).check(current)
    assert {f.name for f in report.features if f.drifted} == DRIFTED
    assert report.drift_share == pytest.approx(6 / 25)
    assert report.dataset_drift and report.drift


def test_fdr_finds_the_six_drifts(frames_10k: Frames) -> None:
    """FDR trades a few false discoveries (at most 5% of the flags, on average) for power."""
    reference, current = frames_10k
    report = DriftDetector(correction="fdr").fit(reference).check(current)
    flagged = {f.name for f in report.features if f.drifted}
    assert flagged >= DRIFTED
    assert len(flagged - DRIFTED) <= 1


def test_false_alarms_on_unchanged_data_stay_within_five_percent(
    drift_frame: Callable[..., pd.DataFrame],
) -> None:
    """Bonferroni bounds the chance of any false alarm per check (25 columns) by 5%.

    Without the correction about 72% of these checks would raise one.
    """
    checks, alarms = 40, 0
    for seed in range(checks):
        reference = drift_frame(1000, 1000 + seed, drift=False)
        current = drift_frame(1000, 5000 + seed, drift=False)
        report = DriftDetector().fit(reference).check(current)
        alarms += any(feature.drifted for feature in report.features)
    assert alarms <= 6  # P(Binomial(40, 0.05) > 6) < 1%


def test_finds_the_six_drifts_and_nothing_else_at_1m(
    drift_frame: Callable[..., pd.DataFrame],
) -> None:
    reference = drift_frame(1_000_000, 21, drift=False)
    current = drift_frame(1_000_000, 22, drift=True)
    report = DriftDetector().fit(reference).check(current)
    assert {f.name for f in report.features if f.drifted} == DRIFTED


def test_statistics_are_scipys(frames_10k: Frames) -> None:
    reference, current = frames_10k
    report = DriftDetector().fit(reference).check(current)
    entries = {feature.name: feature for feature in report.features}
    ks = stats.ks_2samp(reference["x3"], current["x3"])  # auto: exact at 10k
    assert (entries["x3"].statistic, entries["x3"].p_value) == (ks.statistic, ks.pvalue)
    table = pd.crosstab(
        np.repeat([0, 1], [len(reference), len(current)]),
        np.concatenate([reference["mild"], current["mild"]]),
    )
    chi2 = stats.chi2_contingency(table.to_numpy())
    assert entries["mild"].statistic == pytest.approx(chi2.statistic, rel=1e-12)
    assert entries["mild"].p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert entries["x3"].stats["wasserstein"]["distance"] == pytest.approx(
        stats.wasserstein_distance(reference["x3"], current["x3"]), rel=1e-9
    )


def test_threads_do_not_change_the_report(frames_10k: Frames) -> None:
    reference, current = frames_10k
    one = DriftDetector(n_jobs=1).fit(reference).check(current).to_dict()
    two = DriftDetector(n_jobs=2).fit(reference).check(current).to_dict()
    assert one == two


# -- decisions -----------------------------------------------------------------------------


def test_dataset_drift_follows_drift_share(frames_10k: Frames) -> None:
    reference, current = frames_10k
    high = DriftDetector(drift_share=0.5).fit(reference).check(current)
    assert not high.dataset_drift and not high.drift
    assert high.drift_share == pytest.approx(0.24)
    exact = DriftDetector(drift_share=0.24).fit(reference).check(current)
    assert exact.dataset_drift  # "reaches": the share counts when it equals the threshold


def test_bonferroni_threshold_is_reported(frames_10k: Frames) -> None:
    reference, current = frames_10k
    report = DriftDetector().fit(reference).check(current)
    assert {feature.threshold for feature in report.features} == {0.05 / 25}
    none = DriftDetector(correction="none").fit(reference).check(current)
    assert {feature.threshold for feature in none.features} == {0.05}


@pytest.mark.parametrize("test", ["wasserstein", "psi", "mean_shift"])
def test_an_effect_size_can_decide_numeric_columns(frames_10k: Frames, test: str) -> None:
    reference, current = frames_10k
    report = DriftDetector(numeric_test=test).fit(reference).check(current)
    shift = next(feature for feature in report.features if feature.name == "shift")
    assert shift.test == test
    assert shift.statistic == shift.stats[test]["statistic"]
    assert shift.threshold == {"wasserstein": 0.1, "psi": 0.2, "mean_shift": 2.0}[test]
    assert not report.features[-1].drifted  # c2 never drifts


def test_mean_shift_rule_is_two_reference_standard_deviations() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, 5000)})
    detector = DriftDetector(numeric_test="mean_shift").fit(reference)
    assert not detector.check(pd.DataFrame({"x": rng.normal(1.5, 1.0, 5000)})).drift
    assert detector.check(pd.DataFrame({"x": rng.normal(2.5, 1.0, 5000)})).drift


@pytest.mark.parametrize("test", ["psi", "jensen_shannon"])
def test_an_effect_size_can_decide_categorical_columns(frames_10k: Frames, test: str) -> None:
    reference, current = frames_10k
    report = DriftDetector(categorical_test=test).fit(reference).check(current)
    drifted = {f.name for f in report.features if f.type == "categorical" and f.drifted}
    assert drifted == {"strong"}  # the mild shift is below both effect-size levels


def test_thresholds_override_defaults(frames_10k: Frames) -> None:
    reference, current = frames_10k
    strict = DriftDetector(categorical_test="psi", thresholds={"psi": 0.004})
    report = strict.fit(reference).check(current)
    assert {f.name for f in report.features if f.type == "categorical" and f.drifted} == {
        "strong",
        "mild",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"thresholds": {"kss": 0.1}}, "unknown test 'kss'"),
        ({"thresholds": {"ks": 1.5}}, "between 0 and 1"),
        ({"numeric_test": "chi2"}, "numeric_test='chi2'"),
        ({"drift_share": 0}, r"must be in \(0, 1\]"),
        ({"psi_bins": 1}, "psi_bins=1"),
        ({"n_jobs": 0}, "n_jobs=0"),
        ({"ks_method": "fast"}, "ks_method='fast'"),
        ({"performance_metric": "auc"}, "unknown performance metric"),
    ],
)
def test_bad_parameters_fail_at_fit_naming_the_parameter(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        DriftDetector(**params).fit(pd.DataFrame({"x": [1.0, 2.0]}))  # type: ignore[arg-type]
