"""Monitor.step(): drift → retrain → decide → alert, on the server's log, with time injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ferry import Registry
from ferry.training import Monitor, run_pipeline
from ferry.training.alerts import Alerter
from ferry.training.result import RunFailed
from ferry.training.runs import RunStore
from ferry.training.spec import load_spec

NOW = datetime.now(UTC).replace(microsecond=0)
"""The monitor's clock is pinned here; logged rows sit in the hour before it."""


def _at(moment: datetime):
    return lambda: moment


@pytest.fixture
def trained(sqlite_registry, write_pipeline, webhook):
    path = write_pipeline(extra=f'[alerts]\nwebhook = "{webhook.url}"\n[drift]\nmin_rows = 50')
    run_pipeline(path, sqlite_registry)
    return load_spec(path)


def _monitor(spec, registry, moment=NOW, webhook=None):
    alerter = Alerter(webhook.url if webhook else "", sleep=lambda seconds: None)
    return Monitor(spec, registry, alerter=alerter, clock=_at(moment))


def _log(registry, prediction_log, rows, *, start=NOW - timedelta(hours=1), shift=False):
    """Log ``rows`` as the champion's traffic (its real predictions and confidence)."""
    champion = registry.load("cancer@production")
    features = rows.drop(columns="target")
    if shift:
        for column in features.columns[:12]:
            features[column] = features[column] * 1.6
    confidence = champion.predict_proba(features).max(axis=1)
    return prediction_log(registry.settings.home, "cancer", champion.version, features,
                          champion.predict(features), start=start,
                          step=timedelta(seconds=5), confidence=confidence)  # fmt: skip


def test_no_drift_does_nothing(trained, sqlite_registry, prediction_log, cancer_frame, webhook):
    _log(sqlite_registry, prediction_log, cancer_frame.sample(200, random_state=1))
    result = _monitor(trained, sqlite_registry, webhook=webhook).step()
    assert result.to_dict()["drift"] is False and result.action == "none" and result.run is None
    assert result.performance_drift is None and result.report is not None
    assert result.report.current_rows == 200
    assert [v.version for v in sqlite_registry.list_versions("cancer")] == ["1.0.0"]
    assert webhook.bodies == []
    check = RunStore(sqlite_registry.catalog).checks("cancer")[0]
    assert check.consumed and check.window_end is not None and check.action == "none"


def test_drift_retrains_decides_and_alerts(trained, sqlite_registry, prediction_log,
                                           cancer_frame, webhook):  # fmt: skip
    _log(sqlite_registry, prediction_log, cancer_frame.sample(200, random_state=2), shift=True)
    result = _monitor(trained, sqlite_registry, webhook=webhook).step()
    assert result.drift is True and result.action == "retrained"
    assert result.run is not None and result.run.version == "1.1.0"
    assert result.run.decision == "rejected"  # the source data did not change: no better model
    assert "data drift" in result.reason
    assert webhook.kinds() == ["drift_detected", "candidate_rejected"]
    details = webhook.bodies[0]["details"]
    assert details["drift_share"] > 0.1 and "mean radius" in details["drifted"]
    payload = result.to_dict()
    assert set(payload) == {"drift", "performance_drift", "action", "report", "run"}
    assert payload["report"]["drift"] is True and payload["run"]["run_id"] == result.run.run_id
    store = RunStore(sqlite_registry.catalog)
    check = store.checks("cancer")[0]
    assert check.run_id == result.run.run_id and check.drift is True
    assert check.id is not None
    plots = {plot["name"]: plot for plot in store.distributions(check.id)}
    assert len(plots) == 30 and plots["mean radius"]["drifted"] is True  # one per feature
    assert len(plots["mean radius"]["edges"]) + 1 == len(plots["mean radius"]["current"])


def test_the_window_moves_on(trained, sqlite_registry, prediction_log, cancer_frame):
    _log(sqlite_registry, prediction_log, cancer_frame.sample(100, random_state=3))
    first = _monitor(trained, sqlite_registry, NOW).step()
    assert first.report is not None and first.report.current_rows == 100
    idle = _monitor(trained, sqlite_registry, NOW + timedelta(hours=1)).step()
    assert idle.report is None and "0 current rows" in idle.reason
    _log(sqlite_registry, prediction_log, cancer_frame.sample(60, random_state=4),
         start=NOW + timedelta(hours=2))  # fmt: skip
    later = _monitor(trained, sqlite_registry, NOW + timedelta(hours=3)).step()
    assert later.report is not None and later.report.current_rows == 60
    checks = RunStore(sqlite_registry.catalog).checks("cancer")
    assert [check.consumed for check in checks] == [True, False, True]


def test_performance_drift_from_feedback(trained, sqlite_registry, prediction_log,
                                         feedback_log, cancer_frame):  # fmt: skip
    rows = cancer_frame.sample(200, random_state=5)
    ids = _log(sqlite_registry, prediction_log, rows)
    feedback_log(sqlite_registry.settings.home, "cancer", ids, 1 - rows["target"].to_numpy(),
                 at=NOW - timedelta(minutes=1))  # fmt: skip
    result = _monitor(trained, sqlite_registry).step()
    assert result.drift is False and result.performance_drift is True
    assert result.action == "retrained" and "performance drift" in result.reason


def test_a_current_file_with_the_target_column(sqlite_registry, write_pipeline, cancer_frame,
                                               workdir):  # fmt: skip
    path = write_pipeline(extra='[drift]\ncurrent = "current.csv"\nmin_labels = 30')
    spec = load_spec(path)
    run_pipeline(spec, sqlite_registry)
    current = cancer_frame.sample(150, random_state=6)
    current.to_csv(workdir / "current.csv", index=False)
    calm = _monitor(spec, sqlite_registry).step()
    assert calm.action == "none" and calm.performance_drift is False
    current.assign(target=1 - current["target"]).to_csv(workdir / "current.csv", index=False)
    worse = _monitor(spec, sqlite_registry).step()
    assert worse.performance_drift is True and worse.action == "retrained"


def test_a_dry_run_changes_nothing(trained, sqlite_registry, prediction_log, cancer_frame,
                                   webhook):  # fmt: skip
    _log(sqlite_registry, prediction_log, cancer_frame.sample(200, random_state=2), shift=True)
    result = _monitor(trained, sqlite_registry, webhook=webhook).step(dry_run=True)
    assert result.drift is True and result.action == "none" and "dry run" in result.reason
    assert [alert.kind for alert in result.alerts] == ["drift_detected"]
    assert webhook.bodies == [] and RunStore(sqlite_registry.catalog).checks("cancer") == []
    assert len(sqlite_registry.list_versions("cancer")) == 1


def test_age_and_low_confidence_alerts(trained, sqlite_registry, prediction_log, cancer_frame,
                                       webhook):  # fmt: skip
    rows = cancer_frame.sample(100, random_state=7)
    features = rows.drop(columns="target")
    version = sqlite_registry.resolve("cancer@production").version
    later = NOW + timedelta(days=40)
    prediction_log(sqlite_registry.settings.home, "cancer", version, features,
                   np.zeros(100, int), start=later - timedelta(hours=1),
                   confidence=np.full(100, 0.55))  # fmt: skip
    result = _monitor(trained, sqlite_registry, later, webhook=webhook).step()
    assert {"model_too_old", "low_confidence"} <= set(webhook.kinds())
    assert any("older than max_model_age_days = 30" in a.message for a in result.alerts)


def test_without_a_champion_the_first_model_is_trained(sqlite_registry, write_pipeline):
    spec = load_spec(write_pipeline())
    result = _monitor(spec, sqlite_registry).step()
    assert result.action == "retrained" and result.run is not None
    assert result.run.decision == "promoted" and "no champion" in result.reason


def test_a_failed_retrain_is_recorded_and_alerted(trained, sqlite_registry, prediction_log,
                                                  cancer_frame, workdir, webhook):  # fmt: skip
    _log(sqlite_registry, prediction_log, cancer_frame.sample(200, random_state=2), shift=True)
    cancer_frame.drop(columns="target").to_csv(workdir / "train.csv", index=False)
    with pytest.raises(RunFailed, match="data.target"):
        _monitor(trained, sqlite_registry, webhook=webhook).step()
    assert webhook.kinds() == ["drift_detected", "run_failed"]
    check = RunStore(sqlite_registry.catalog).checks("cancer")[0]
    assert check.status == "failed" and check.run_id is not None and not check.consumed
    assert RunStore(sqlite_registry.catalog).get(check.run_id).status == "failed"
    assert sqlite_registry.resolve("cancer@production").version == "1.0.0"


def test_the_monitor_applies_the_current_drift_settings(trained, sqlite_registry, write_pipeline,
                                                        prediction_log, cancer_frame):  # fmt: skip
    """The champion was profiled with KS; editing [drift] changes the next check, no retrain
    needed: the mean-shift rule at 100 standard deviations, then the shifted columns ignored."""
    _log(sqlite_registry, prediction_log, cancer_frame.sample(200, random_state=2), shift=True)
    shifted = list(cancer_frame.columns[:12])
    assert _monitor(trained, sqlite_registry).step(dry_run=True).report.dataset_drift is True

    lenient = 'numeric_test = "mean_shift"\nmean_shift_threshold = 100.0'
    spec = load_spec(write_pipeline(extra=f"[drift]\n{lenient}", filename="lenient.toml"))
    report = _monitor(spec, sqlite_registry).step(dry_run=True).report
    assert report is not None and report.dataset_drift is False
    assert {feature.test for feature in report.features} == {"mean_shift"}
    assert {feature.threshold for feature in report.features} == {100.0}

    ignoring = f"ignore = {shifted!r}".replace("'", '"')
    spec = load_spec(write_pipeline(extra=f"[drift]\n{ignoring}", filename="ignore.toml"))
    result = _monitor(spec, sqlite_registry).step(dry_run=True)
    assert result.report is not None and result.report.dataset_drift is False
    assert not {feature.name for feature in result.report.features} & set(shifted)

    typed = 'numeric = ["mean radius"]\nlow_cardinality = 3'
    spec = load_spec(write_pipeline(extra=f"[drift]\n{typed}", filename="typed.toml"))
    notes = _monitor(spec, sqlite_registry).step(dry_run=True).notes
    assert any("drift.numeric, drift.low_cardinality changed" in note for note in notes)


def test_a_drift_column_that_is_not_a_feature_fails_the_run_at_load(sqlite_registry,
                                                                   write_pipeline):  # fmt: skip
    path = write_pipeline(extra='[drift]\ncategorical = ["mean radios"]')
    with pytest.raises(RunFailed, match=r"'load'.*drift\.categorical.*\['mean radios'\]"):
        run_pipeline(path, sqlite_registry)


def test_a_retraining_monitor_step_names_its_run_to_whoever_is_refused(sqlite_registry,
                                                                       write_pipeline):  # fmt: skip
    from ferry.errors import RunInProgress
    from ferry.training.lock import RunLock

    class Probe:
        refused: RunInProgress | None = None

        def step_started(self, name, index, total):
            if index == 1:
                with pytest.raises(RunInProgress) as caught:
                    RunLock(sqlite_registry.settings.home, "cancer").acquire()
                self.refused = caught.value

        def step_finished(self, name, seconds):
            pass

    probe = Probe()
    spec = load_spec(write_pipeline())
    result = Monitor(spec, sqlite_registry, listener=probe, clock=_at(NOW)).step()
    assert result.run is not None and probe.refused is not None
    assert probe.refused.run_id == result.run.run_id


@pytest.mark.parametrize(
    ("alerts", "alerted"),
    [
        ("low_confidence_share = 0.1", True),
        ("low_confidence_share = 0.25", False),
        ("low_confidence = 0.5\nlow_confidence_share = 0.1", False),
        ("low_confidence_rate = 0.1", True),  # the key's older name
    ],
)
def test_a_share_of_low_confidence_predictions_raises_an_alert(
    sqlite_registry, write_pipeline, prediction_log, cancer_frame, webhook, alerts, alerted
):
    """20 of 100 logged predictions at 0.55, the rest at 0.95: a 20% share below 0.6."""
    extra = f'[alerts]\nwebhook = "{webhook.url}"\n{alerts}\n[drift]\nmin_rows = 50'
    spec = load_spec(write_pipeline(extra=extra))
    run_pipeline(spec, sqlite_registry)
    rows = cancer_frame.sample(100, random_state=7).drop(columns="target")
    version = sqlite_registry.resolve("cancer@production").version
    confidence = np.r_[np.full(20, 0.55), np.full(80, 0.95)]
    prediction_log(sqlite_registry.settings.home, "cancer", version, rows, np.zeros(100, int),
                   start=NOW - timedelta(hours=1), confidence=confidence)  # fmt: skip
    result = _monitor(spec, sqlite_registry, webhook=webhook).step()
    kinds = [alert.kind for alert in result.alerts]
    assert ("low_confidence" in kinds) is alerted
    assert ("low_confidence" in webhook.kinds()) is alerted
    if alerted:
        (alert,) = [alert for alert in result.alerts if alert.kind == "low_confidence"]
        assert alert.details == {"share": 0.2, "low": 20, "rows": 100, "threshold": 0.6}
        assert "20% of 100 predictions have confidence below 0.6" in alert.message


def test_both_names_of_the_share_are_refused_together(write_pipeline):
    from ferry.errors import InvalidInput

    both = "[alerts]\nlow_confidence_share = 0.1\nlow_confidence_rate = 0.2"
    with pytest.raises(InvalidInput, match="low_confidence_share only"):
        load_spec(write_pipeline(extra=both))


def test_the_monitor_reads_every_replicas_files_at_ferry_log_dir(
    trained, sqlite_registry, prediction_log, cancer_frame, monkeypatch, tmp_path
):
    monkeypatch.setenv("FERRY_LOG_DIR", str(tmp_path / "logs"))
    with Registry(home=sqlite_registry.settings.home) as registry:
        assert registry.settings.log_url == str(tmp_path / "logs")
        champion = registry.load("cancer@production")
        for seed in (1, 2):  # two replicas' streams
            features = cancer_frame.sample(100, random_state=seed).drop(columns="target")
            prediction_log(tmp_path / "logs", "cancer", champion.version, features,
                           champion.predict(features), start=NOW - timedelta(hours=1))  # fmt: skip
        result = _monitor(trained, registry).step()
    assert result.report is not None and result.report.current_rows == 200
    assert not (sqlite_registry.settings.home / "predictions").exists()
