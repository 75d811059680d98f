"""Training runs through the Python entry point: decisions, records, failures, the lock."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes

from ferry.drift import PROFILE_FILENAME, DriftDetector
from ferry.errors import Conflict, NotFound, RunInProgress
from ferry.training import get_run, queue_run, run_pipeline
from ferry.training.lock import RunLock
from ferry.training.result import RunFailed
from ferry.training.spec import load_spec

DUMMY = 'class = "sklearn.dummy.DummyClassifier"\nparams = { strategy = "most_frequent" }'
FOREST = (
    'class = "sklearn.ensemble.RandomForestClassifier"\n'
    "params = { n_estimators = 8, max_depth = 4, random_state = 0 }"
)


class Steps:
    def __init__(self):
        self.started: list[tuple[str, int, int]] = []
        self.finished: list[str] = []

    def step_started(self, name, index, total):
        self.started.append((name, index, total))

    def step_finished(self, name, seconds):
        self.finished.append(name)


def test_better_promoted_worse_rejected_and_everything_recorded(registry, write_pipeline):
    weak, strong = write_pipeline(DUMMY, filename="weak.toml"), write_pipeline(FOREST)
    first = run_pipeline(weak, registry)
    assert (first.version, first.decision, first.champion_metrics) == ("1.0.0", "promoted", None)
    steps = Steps()
    better = run_pipeline(strong, registry, listener=steps)
    assert better.decision == "promoted" and "mcnemar" in better.reason
    assert better.champion_metrics == pytest.approx(first.metrics)
    assert [name for name, _, _ in steps.started] == [
        "load", "split", "fit", "evaluate", "profile", "register", "champion", "decide", "promote"
    ]  # fmt: skip
    assert steps.finished == [name for name, _, _ in steps.started]
    worse = run_pipeline(weak, registry)
    assert worse.decision == "rejected" and "below min_improvement" in worse.reason
    assert registry.resolve("cancer@production").version == better.version == "1.1.0"
    assert registry.resolve("cancer@candidate").version == worse.version
    moves = [(m.alias, m.to_version) for m in registry.alias_history("cancer")]
    assert moves == [("production", "1.0.0"), ("production", "1.1.0"), ("candidate", "1.2.0")]
    record = get_run(registry, worse.run_id)
    assert record.status == "succeeded" and record.decision == "rejected"
    assert record.champion_version == "1.1.0" and record.rows == 569
    assert [step["name"] for step in record.steps][-1] == "promote"


def test_a_version_carries_metrics_data_tags_and_its_drift_profile(sqlite_registry, write_pipeline):
    result = run_pipeline(write_pipeline(FOREST), sqlite_registry)
    version = sqlite_registry.resolve(f"cancer:{result.version}")
    meta = version.metadata
    assert meta["performance"]["f1"] == result.metrics["f1"]
    assert meta["performance"]["cv_f1"] == result.cv_metrics["f1"]
    assert meta["training_dataset"]["rows"] == 569 and len(meta["training_dataset"]["sha256"]) == 64
    assert meta["tags"]["ferry.rows"] == "569" and meta["tags"]["ferry.run_id"] == result.run_id
    assert float(meta["tags"]["ferry.training_seconds"]) > 0
    assert "ferry.trained_at" in meta["tags"] and meta["description"] == "breast cancer"
    profile = DriftDetector.load(sqlite_registry.read_artifact(version.reference, PROFILE_FILENAME))
    assert len(profile.feature_names_in_) == 30
    assert profile.prediction_profiles_ is not None
    assert profile.performance_baseline_ == pytest.approx(result.metrics["f1"])


def test_a_run_failing_in_fit_registers_nothing_and_moves_no_alias(sqlite_registry, write_pipeline):
    run_pipeline(write_pipeline(DUMMY), sqlite_registry)
    # each value is valid on its own (checked at load); together they fail in fit
    broken = write_pipeline(FOREST.replace("}", ", bootstrap = false, max_samples = 0.5 }"))
    with pytest.raises(RunFailed, match="step 'fit'.*max_sample") as caught:
        run_pipeline(broken, sqlite_registry)
    record = get_run(sqlite_registry, caught.value.run_id)
    assert record.status == "failed" and record.error is not None and "fit:" in record.error
    assert [(s["name"], s["status"]) for s in record.steps][-1] == ("fit", "failed")
    assert [v.version for v in sqlite_registry.list_versions("cancer")] == ["1.0.0"]
    assert len(sqlite_registry.alias_history("cancer")) == 1


def test_a_champion_that_fails_to_load_fails_the_run_after_registration(sqlite_registry,
                                                                        write_pipeline):  # fmt: skip
    path = write_pipeline(FOREST)
    run_pipeline(path, sqlite_registry)
    champion = sqlite_registry.resolve("cancer@production")
    model_file = sqlite_registry.settings.home / "models" / "cancer" / "v1.0.0" / "model.skops"
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    with pytest.raises(RunFailed, match="step 'champion'.*sha256") as caught:
        run_pipeline(path, sqlite_registry)
    record = get_run(sqlite_registry, caught.value.run_id)
    assert record.status == "failed" and record.version == "1.1.0"
    assert sqlite_registry.resolve("cancer@production").version == champion.version
    assert [m.to_version for m in sqlite_registry.alias_history("cancer")] == ["1.0.0"]
    forced = run_pipeline(path, sqlite_registry, force=True)
    assert forced.decision == "forced" and "could not be evaluated" in forced.reason
    assert sqlite_registry.resolve("cancer@production").version == forced.version


def test_one_run_per_model_at_a_time(sqlite_registry, write_pipeline):
    spec = load_spec(write_pipeline(DUMMY))
    run_id = queue_run(spec, sqlite_registry)
    assert get_run(sqlite_registry, run_id).status == "queued"
    lock = RunLock(sqlite_registry.settings.home, "cancer")
    lock.acquire("a1b2c3d4e5f6")
    try:
        with pytest.raises(RunInProgress, match="run a1b2c3d4e5f6") as refused:
            run_pipeline(spec, sqlite_registry, run_id=run_id)
    finally:
        lock.release()
    assert isinstance(refused.value, Conflict) and refused.value.run_id == "a1b2c3d4e5f6"
    with pytest.raises(NotFound):  # refused before it started: no failed run is left behind
        get_run(sqlite_registry, run_id)
    queued = queue_run(spec, sqlite_registry)
    result = run_pipeline(spec, sqlite_registry, run_id=queued)
    assert result.run_id == queued and get_run(sqlite_registry, queued).status == "succeeded"


def test_regression_with_the_paired_bootstrap(sqlite_registry, tmp_path):
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    features.assign(progression=target).to_csv(tmp_path / "diabetes.csv", index=False)
    (tmp_path / "p.toml").write_text(
        '[model]\nname = "diabetes"\n[data]\nsource = "diabetes.csv"\ntarget = "progression"\n'
        '[estimator]\nclass = "sklearn.dummy.DummyRegressor"\n[evaluation]\ncv_folds = 2\n'
        "[promotion]\nbootstrap_samples = 200\n"
    )
    assert run_pipeline(tmp_path / "p.toml", sqlite_registry).decision == "promoted"
    text = (tmp_path / "p.toml").read_text().replace("dummy.DummyRegressor", "linear_model.Ridge")
    (tmp_path / "p.toml").write_text(text)
    better = run_pipeline(tmp_path / "p.toml", sqlite_registry)
    assert better.decision == "promoted" and "bootstrap p=" in better.reason
    assert set(better.metrics) == {"rmse", "mae", "r2"}


def test_clustering_pipeline(sqlite_registry, tmp_path, cancer_frame):
    cancer_frame[["mean radius", "mean texture"]].to_parquet(tmp_path / "points.parquet")
    (tmp_path / "k.toml").write_text(
        '[model]\nname = "segments"\n[data]\nsource = "points.parquet"\n'
        '[estimator]\nclass = "sklearn.cluster.KMeans"\n'
        "params = { n_clusters = 3, n_init = 2, random_state = 0 }\n"
        "[evaluation]\ncv_folds = 2\n[promotion]\nbootstrap_samples = 200\n"
    )
    first = run_pipeline(tmp_path / "k.toml", sqlite_registry)
    assert first.decision == "promoted" and {"silhouette", "inertia"} <= set(first.metrics)
    again = run_pipeline(tmp_path / "k.toml", sqlite_registry)
    assert again.decision == "rejected" and again.champion_metrics is not None
