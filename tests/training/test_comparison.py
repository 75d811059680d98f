"""A fair champion/challenger comparison: both scored only on rows neither was trained on."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.errors import InvalidInput
from ferry.training import get_run, run_pipeline
from ferry.training.comparison import TRAINING_ROWS_FILE, read_training_rows, row_hashes
from ferry.training.result import RunFailed
from ferry.training.spec import load_spec

TREE = 'class = "sklearn.tree.DecisionTreeClassifier"\nparams = { random_state = 0 }'
FOREST = (
    'class = "sklearn.ensemble.RandomForestClassifier"\n'
    "params = { n_estimators = 8, max_depth = 4, random_state = 0 }"
)


def ferry(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def seeded_split(frame: pd.DataFrame, holdout: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The split docs/training.md documents: seeded and stratified on the target."""
    train, test = train_test_split(
        frame, test_size=holdout, random_state=0, stratify=frame["target"]
    )
    return train, test


def test_a_tree_is_not_scored_on_its_own_training_rows_when_the_table_grows(
    workdir, write_pipeline, cancer_frame, monkeypatch
):
    home = workdir / "home"
    monkeypatch.setenv("FERRY_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")  # the runs table on one line per run
    table = workdir / "table.csv"
    cancer_frame.head(300).to_csv(table, index=False)
    pipeline = str(write_pipeline(TREE, source="table.csv", cv_folds=0))
    first = json.loads(ferry("train", pipeline, "--json"))
    assert first["decision"] == "promoted" and first["comparison_rows"] is None

    cancer_frame.to_csv(table, index=False)  # the table grows, as docs/training.md says to
    said = ferry("train", pipeline)
    second = json.loads(ferry("runs", "cancer", "--json"))[0]

    trained_first, _ = seeded_split(cancer_frame.head(300), 0.3)
    _, holdout = seeded_split(cancer_frame, 0.3)
    seen = holdout.index.isin(trained_first.index)
    assert second["excluded_rows"] == int(seen.sum()) > 30
    assert second["comparison_rows"] == int((~seen).sum()) == len(holdout) - int(seen.sum())
    with Registry(home=home) as registry:
        champion = registry.load("cancer:1.0.0").predictor
    features = holdout.drop(columns="target")
    on_its_own_rows = accuracy_score(holdout["target"][seen], champion.predict(features[seen]))
    assert on_its_own_rows == 1.0  # what the old comparison scored it on, in part
    unseen = accuracy_score(holdout["target"][~seen], champion.predict(features[~seen]))
    assert unseen < 0.99 and second["champion_metrics"]["accuracy"] == pytest.approx(unseen)
    shown = (
        f"(compared on {second['comparison_rows']} holdout rows neither model was trained on; "
        f"{second['excluded_rows']} excluded)"
    )
    assert second["reason"].endswith(shown) and f"reason: {second['reason']}" in said
    assert second["comparison_metrics"]["accuracy"] != second["metrics"]["accuracy"]
    assert f"({second['excluded_rows']} excluded)" in ferry("runs", "cancer")
    assert "champion (compared)" in ferry("runs", "--id", second["id"])
    trend = json.loads(ferry("stats", "cancer", "--json"))["metric_trend"][-1]
    assert trend["compared_value"] == second["comparison_metrics"]["f1"]
    assert trend["champion_value"] == second["champion_metrics"]["f1"]


def test_too_few_unseen_rows_reject_the_challenger_unless_forced(
    registry, write_pipeline, cancer_frame
):
    run_pipeline(write_pipeline(FOREST, cv_folds=0, evaluation="holdout = 0.05"), registry)
    wide = write_pipeline(TREE, cv_folds=0, evaluation="holdout = 0.3", filename="wide.toml")
    rejected = run_pipeline(wide, registry)
    trained, _ = seeded_split(cancer_frame, 0.05)
    _, holdout = seeded_split(cancer_frame, 0.3)
    unseen = int((~holdout.index.isin(trained.index)).sum())
    assert rejected.decision == "rejected" and rejected.comparison_rows == unseen < 30
    assert "evaluation.min_comparison_rows = 30" in rejected.reason
    assert rejected.champion_metrics is None  # nothing is scored on too few rows
    record = get_run(registry, rejected.run_id)
    assert (record.comparison_rows, record.excluded_rows) == (unseen, len(holdout) - unseen)
    assert registry.resolve("cancer@production").version == "1.0.0"

    forced = run_pipeline(wide, registry, force=True)
    assert forced.decision == "forced" and "min_comparison_rows" in forced.reason
    assert registry.resolve("cancer@production").version == forced.version


def test_a_time_split_compares_on_rows_newer_than_the_champions_cut(
    sqlite_registry, write_pipeline, workdir, cancer_frame
):
    days = pd.date_range("2025-01-01", periods=len(cancer_frame), freq="D").strftime("%Y-%m-%d")
    dated = cancer_frame.assign(day=days).sample(frac=1.0, random_state=1)  # file order: any
    dated.to_csv(workdir / "dated.csv", index=False)
    by_time = 'split = "time"\ntime_column = "day"\nmin_comparison_rows = 10'
    first = run_pipeline(
        write_pipeline(
            FOREST, source="dated.csv", cv_folds=0, evaluation=f"holdout = 0.05\n{by_time}"
        ),
        sqlite_registry,
    )
    champion = sqlite_registry.resolve(f"cancer:{first.version}").metadata
    assert champion["tags"]["ferry.time_cut"] == "2026-06-24T00:00:00+00:00"  # the 540th day
    assert "day" not in [column["name"] for column in champion["input_schema"]["columns"]]

    # Every value re-measured: no row hashes as before, so only the time cut can exclude rows.
    dated.assign(**{"mean radius": dated["mean radius"] + 0.001}).to_csv(
        workdir / "dated.csv", index=False
    )
    wide = write_pipeline(
        FOREST, source="dated.csv", cv_folds=0, evaluation=f"holdout = 0.3\n{by_time}"
    )
    second = run_pipeline(wide, sqlite_registry)
    holdout = int(np.ceil(len(cancer_frame) * 0.3))
    newer = len(cancer_frame) - 540
    assert (second.comparison_rows, second.excluded_rows) == (newer, holdout - newer)


def test_a_champion_without_recorded_rows_is_compared_on_the_whole_holdout_with_a_note(
    sqlite_registry, write_pipeline, cancer_frame, forest
):
    features = cancer_frame.drop(columns="target")
    sqlite_registry.register(forest, "cancer", input_example=features.head())
    sqlite_registry.set_alias("cancer", "production", "1.0.0")
    result = run_pipeline(write_pipeline(FOREST, cv_folds=0), sqlite_registry)
    assert (result.comparison_rows, result.excluded_rows) == (171, 0)
    notes = get_run(sqlite_registry, result.run_id).notes
    assert any("no record of its training rows" in note for note in notes)


def test_training_rows_are_recorded_and_hash_alike_in_any_order_or_dtype(
    sqlite_registry, write_pipeline, cancer_frame
):
    result = run_pipeline(write_pipeline(FOREST, cv_folds=0), sqlite_registry)
    stored = sqlite_registry.read_artifact(f"cancer:{result.version}", TRAINING_ROWS_FILE)
    hashes = read_training_rows(stored)
    trained, _ = seeded_split(cancer_frame, 0.3)
    assert len(hashes) == len(trained) and np.all(np.diff(hashes.astype(np.float64)) >= 0)
    assert set(row_hashes(trained)) == set(hashes.tolist())
    shuffled = trained.sample(frac=1.0, random_state=3)[trained.columns[::-1]]
    assert set(row_hashes(shuffled.astype({"target": "float64"}))) == set(hashes.tolist())
    assert not set(row_hashes(trained.assign(target=1 - trained["target"]))) & set(hashes.tolist())


@pytest.mark.parametrize(
    ("evaluation", "message"),
    [
        ('split = "time"', 'split = "time" needs evaluation.time_column'),
        ('time_column = "day"', 'time_column applies only with split = "time"'),
        ("min_comparison_rows = 0", "evaluation.min_comparison_rows"),
        ('split = "time"\ntime_column = "target"', "time_column = 'target' is the target"),
        ('split = "days"', "evaluation.split"),
    ],
)
def test_comparison_settings_are_checked_when_the_file_is_read(write_pipeline, evaluation, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        load_spec(write_pipeline(FOREST, evaluation=evaluation))


def test_a_time_column_that_holds_no_times_fails_the_load_step_naming_it(
    sqlite_registry, write_pipeline, workdir, cancer_frame
):
    cancer_frame.assign(day="soon").to_csv(workdir / "dated.csv", index=False)
    pipeline = write_pipeline(
        FOREST, source="dated.csv", evaluation='split = "time"\ntime_column = "day"'
    )
    with pytest.raises(RunFailed, match="step 'load'.*time_column = 'day': cannot read"):
        run_pipeline(pipeline, sqlite_registry)
