"""``ferry train``, ``runs``, ``stats``, ``monitor`` driven the way a user types them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app

FOREST = (
    'class = "sklearn.ensemble.RandomForestClassifier"\n'
    "params = { n_estimators = 8, max_depth = 4, random_state = 0 }"
)
DUMMY = 'class = "sklearn.dummy.DummyClassifier"\nparams = { strategy = "most_frequent" }'
PIPELINE = """
[model]
name = "cancer"

[data]
source = "cancer.csv"
target = "target"

[estimator]
{estimator}

[evaluation]
holdout = 0.3
cv_folds = 2
{evaluation}

[promotion]
{promotion}
"""
RESULT_KEYS = {"run_id", "model", "version", "status", "decision", "reason", "metrics",
               "cv_metrics", "champion_metrics", "comparison_rows", "excluded_rows"}  # fmt: skip


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FERRY_ESTIMATOR_PREFIXES", raising=False)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.assign(target=y).to_csv(tmp_path / "cancer.csv", index=False)
    return tmp_path / "home"


def pipeline(folder: Path, estimator=FOREST, promotion="", evaluation="", name="p.toml") -> str:
    path = folder / name
    path.write_text(
        PIPELINE.format(estimator=estimator, promotion=promotion, evaluation=evaluation)
    )
    return str(path)


def ferry(*args: str, code: int = 0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def train(path: str, *extra: str) -> dict:
    result = ferry("train", path, "--json", *extra)
    out = json.loads(result.stdout)
    assert set(out) == RESULT_KEYS
    return out


def production(home: Path) -> str:
    with Registry(home=home) as registry:
        return registry.resolve("cancer@production").version


def test_a_better_challenger_is_promoted_a_worse_one_rejected(home, tmp_path):
    first = train(pipeline(tmp_path, DUMMY))
    assert (first["version"], first["decision"], first["status"]) == (
        "1.0.0",
        "promoted",
        "succeeded",
    )
    better = train(pipeline(tmp_path))
    assert better["decision"] == "promoted" and better["champion_metrics"] == first["metrics"]
    assert better["metrics"]["f1"] > first["metrics"]["f1"] and "f1" in better["cv_metrics"]
    worse = train(pipeline(tmp_path, DUMMY))
    assert worse["decision"] == "rejected" and worse["version"] == "1.2.0"
    assert production(home) == "1.1.0"
    history = json.loads(ferry("history", "cancer", "--alias", "production", "--json").stdout)
    assert [move["to"] for move in history] == ["1.0.0", "1.1.0"]
    shown = json.loads(ferry("models", "show", "cancer@candidate", "--json").stdout)
    assert shown["version"] == "1.2.0"


def test_a_floor_blocks_a_model_that_wins_on_the_primary_metric(home, tmp_path):
    train(pipeline(tmp_path, DUMMY))  # predicts 1 for everyone: precision 0.63, recall 1.0
    floored = pipeline(tmp_path, promotion="floors = { recall = 0.995 }",
                       evaluation='primary_metric = "precision"')  # fmt: skip
    out = train(floored)
    assert out["metrics"]["precision"] > out["champion_metrics"]["precision"] + 0.2
    assert out["decision"] == "rejected" and "below floors: recall" in out["reason"]
    assert production(home) == "1.0.0"


def test_force_promotes_anyway_and_says_so(home, tmp_path):
    train(pipeline(tmp_path))
    forced = train(pipeline(tmp_path, DUMMY), "--force")
    assert forced["decision"] == "forced" and forced["reason"].startswith(
        "forced; the policy would reject"
    )
    assert production(home) == forced["version"]
    runs = json.loads(ferry("runs", "cancer", "--json").stdout)
    assert runs[0]["decision"] == "forced" and runs[0]["trigger"] == "cli"


def test_a_run_failing_midway_moves_no_alias_and_is_recorded(home, tmp_path):
    train(pipeline(tmp_path))
    # each value is valid on its own (checked at load); together they fail in fit
    broken = pipeline(tmp_path, FOREST.replace("}", ", bootstrap = false, max_samples = 0.5 }"))
    failed = ferry("train", broken, "--json", code=1)
    assert failed.stdout == "" and "Traceback" not in failed.stderr
    error_lines = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "failed at step 'fit'" in error_lines[0]
    assert "max_sample" in error_lines[0]
    last = json.loads(ferry("runs", "cancer", "--json").stdout)[0]
    assert last["status"] == "failed" and last["error"].startswith("fit:")
    assert last["version"] is None and last["steps"][-1] == {
        **last["steps"][-1],
        "status": "failed",
    }
    assert len(json.loads(ferry("history", "cancer", "--json").stdout)) == 1
    one = json.loads(ferry("runs", "--id", last["id"], "--json").stdout)
    assert one["id"] == last["id"] and one["status"] == "failed"
    shown = ferry("runs", "--id", last["id"]).stdout
    assert "steps" in shown and "failed" in shown


def test_rollback_after_a_promotion(home, tmp_path):
    train(pipeline(tmp_path, DUMMY))
    train(pipeline(tmp_path))
    assert production(home) == "1.1.0"
    moved = json.loads(ferry("rollback", "cancer", "--reason", "bad night", "--json").stdout)
    assert moved["move"]["kind"] == "rollback" and moved["version"] == "1.0.0"
    assert production(home) == "1.0.0"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("unknown", "unknown key 'promotion.margin'"),
        ("missing file", "data.source = 'absent.csv'"),
        ("target", "data.target = 'churned' is not a column"),
        ("outside prefixes", "'os.system' is outside the allowed module prefixes"),
        ("not allowed here", "outside the allowed module prefixes ['sklearn.linear_model']"),
        ("wrong type", "estimator.params.n_estimators = 'lots'"),
        ("too many folds", "evaluation.cv_folds: Input should be less than or equal to 100"),
        ("deep search", "search.params.max_depth is nested more than 16 levels deep"),
    ],
)
def test_each_bad_pipeline_file_is_one_line_naming_the_key(
    home, tmp_path, monkeypatch, text, named
):
    path = Path(pipeline(tmp_path))
    content = path.read_text()
    content = {
        "unknown": content.replace("[promotion]", "[promotion]\nmargin = 0.1"),
        "missing file": content.replace("cancer.csv", "absent.csv"),
        "target": content.replace('target = "target"', 'target = "churned"'),
        "outside prefixes": content.replace("sklearn.ensemble.RandomForestClassifier", "os.system"),
        "not allowed here": content,
        "wrong type": content.replace("n_estimators = 8", 'n_estimators = "lots"'),
        "too many folds": content.replace("cv_folds = 2", "cv_folds = 100000"),
        "deep search": f"{content}\n[search]\nparams = {{ max_depth = {'[' * 40}4{']' * 40} }}",
    }[text]
    if text == "not allowed here":
        monkeypatch.setenv("FERRY_ESTIMATOR_PREFIXES", "sklearn.linear_model")
    path.write_text(content)
    result = ferry("train", str(path), code=1)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and lines[0].startswith("error: ") and named in lines[0], lines
    assert "Traceback" not in result.stderr and result.stdout == ""
    if text in ("wrong type", "too many folds", "deep search"):  # refused before reading data
        assert json.loads(ferry("runs", "--json").stdout) == []


def _log(home: Path, features: pd.DataFrame, predictions, start: datetime) -> None:
    frame = features.reset_index(drop=True).copy()
    frame["ferry_request_id"] = [uuid.uuid4().hex for _ in range(len(frame))]
    frame["ferry_time"] = pd.to_datetime(
        [start + timedelta(microseconds=index) for index in range(len(frame))], utc=True
    ).as_unit("us")
    frame["ferry_prediction"] = predictions
    frame["ferry_confidence"] = 0.9
    folder = home / "predictions" / "model=cancer" / "version=1.0.0" / f"day={start.date()}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   folder / f"part-{uuid.uuid4().hex}.parquet")  # fmt: skip


def test_monitor_does_nothing_without_drift_and_retrains_on_drift(home, tmp_path):
    path = pipeline(tmp_path)
    train(path)
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    with Registry(home=home) as registry:
        champion = registry.load("cancer@production")
    calm = X.sample(150, random_state=0)
    start = datetime.now(UTC) - timedelta(hours=2)
    _log(home, calm, champion.predict(calm), start)
    quiet = json.loads(ferry("monitor", path, "--json").stdout)
    assert set(quiet) == {"drift", "performance_drift", "action", "report", "run"}
    assert quiet["drift"] is False and quiet["action"] == "none" and quiet["run"] is None
    assert quiet["report"]["current_rows"] == 150
    drifted = X.sample(150, random_state=1) * 1.7
    _log(home, drifted, champion.predict(drifted), datetime.now(UTC))  # after the last check
    dry = json.loads(ferry("monitor", path, "--json", "--dry-run").stdout)
    assert dry["drift"] is True and dry["action"] == "none"
    acted = json.loads(ferry("monitor", path, "--json").stdout)
    assert acted["drift"] is True and acted["action"] == "retrained"
    assert acted["report"]["current_rows"] == 150 and acted["run"]["version"] == "1.1.0"
    human = ferry("monitor", path)
    assert "nothing checked" in human.stdout
    stats = json.loads(ferry("stats", "cancer", "--json").stdout)
    assert stats["checks"] == 3 and stats["drift_frequency"] == 0.5
    assert stats["retrain_success_rate"] == 1.0 and len(stats["metric_trend"]) == 2
    assert stats["data_volume"]["last"] == 569.0
    assert "metric trend" in ferry("stats", "cancer").stdout
    assert "cancer" in ferry("runs").stdout


def test_train_while_a_run_is_going_says_which_and_exits_non_zero(home, tmp_path):
    from ferry.training.lock import RunLock

    lock = RunLock(home, "cancer")
    lock.acquire("0123456789ab")
    try:
        refused = ferry("train", pipeline(tmp_path, DUMMY), code=1)
    finally:
        lock.release()
    assert refused.stderr.startswith(
        "error: a run of cancer is already in progress (run 0123456789ab"
    )
    assert "ferry runs --id 0123456789ab" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads(ferry("runs", "cancer", "--json").stdout) == []


def test_monitor_with_retrain_always_retrains_without_drift(home, tmp_path):
    """What the chart's CronJob runs: ferry monitor on a schedule of its own."""
    sections = '[drift]\ncurrent = "cancer.csv"\n[schedule]\nretrain = "always"'
    path = pipeline(tmp_path, DUMMY, promotion=f"\n{sections}")
    train(path)
    dry = json.loads(ferry("monitor", path, "--json", "--dry-run").stdout)
    assert dry["drift"] is False and dry["action"] == "none"
    acted = ferry("monitor", path, "--json")
    out = json.loads(acted.stdout)
    assert out["drift"] is False and out["action"] == "retrained"
    assert out["run"]["decision"] == "rejected" and production(home) == "1.0.0"
    assert 'retrain = "always"' in acted.stderr


def test_a_pipeline_with_a_rollout_starts_one_instead_of_moving_the_alias(home, tmp_path):
    canary = 'rollout = { mode = "canary", steps = [10, 100], max_error_rate = 0.02 }'
    assert train(pipeline(tmp_path, DUMMY, promotion=canary))["decision"] == "promoted"  # first
    won = train(pipeline(tmp_path, FOREST, promotion=canary, name="forest.toml"))
    assert won["decision"] == "rollout_started", won["reason"]
    assert "rollout 1 of cancer started: canary 1.0.0 -> 1.1.0" in won["reason"]
    assert production(home) == "1.0.0"  # the rollout moves it, step by step, if the candidate holds
    rollout = json.loads(ferry("rollout", "status", "cancer", "--json").stdout)
    assert (rollout["candidate"], rollout["mode"], rollout["steps"]) == (
        "1.1.0",
        "canary",
        [10, 100],
    )
    assert rollout["bounds"]["max_error_rate"] == 0.02 and won["run_id"] in rollout["reason"]
    runs = json.loads(ferry("runs", "cancer", "--json").stdout)
    assert runs[0]["decision"] == "rollout_started"

    busy = ferry("train", pipeline(tmp_path, FOREST, promotion='rollout = "shadow"', name="s.toml"),
                 "--force")  # fmt: skip
    assert "rollout_blocked (@production unchanged)" in busy.stdout
    assert "cancer already has rollout 1 running (1.0.0 -> 1.1.0)" in busy.stdout
    assert production(home) == "1.0.0"
    decisions = json.loads(ferry("stats", "cancer", "--json").stdout)["decisions"]
    assert decisions == {
        "promoted": 1, "rejected": 0, "forced": 0, "rollout_started": 1, "rollout_blocked": 1
    }  # fmt: skip


@pytest.mark.parametrize(
    ("promotion", "message"),
    [
        ('rollout = "blue-green"', "mode must be one of canary, shadow, ab"),
        ('rollout = { mode = "ab", speed = 3 }', "unknown rollout option(s) ['speed']; known:"),
        ("rollout = 3", 'rollout must be "canary", "shadow", "ab" or a table'),
    ],
)
def test_a_bad_rollout_in_a_pipeline_is_refused_by_name(home, tmp_path, promotion, message):
    refused = ferry("train", pipeline(tmp_path, DUMMY, promotion=promotion), code=1)
    assert message in refused.stderr and "promotion.rollout" in refused.stderr


def test_monitor_hands_a_winning_retrain_to_an_ab_rollout(home, tmp_path):
    train(pipeline(tmp_path, DUMMY))
    sections = '[drift]\ncurrent = "cancer.csv"\n[schedule]\nretrain = "always"'
    path = pipeline(tmp_path, FOREST, promotion=f'rollout = "ab"\n{sections}', name="m.toml")
    out = json.loads(ferry("monitor", path, "--json").stdout)
    assert out["action"] == "retrained" and out["run"]["decision"] == "rollout_started"
    rollout = json.loads(ferry("rollout", "status", "cancer", "--json").stdout)
    assert (rollout["mode"], rollout["steps"], rollout["state"]) == ("ab", [50], "running")
    assert production(home) == "1.0.0"
