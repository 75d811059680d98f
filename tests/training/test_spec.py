"""The pipeline file: every key checked, every mistake named, no code run from the file."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from ferry.errors import InvalidInput
from ferry.training.spec import load_spec

FULL = """
[model]
name = "churn"
description = "who leaves"

[data]
source = "train.csv"
query = ""
target = "target"
features = []
ignore = ["mean radius"]

[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = { n_estimators = 20, random_state = 0 }

[search]
params = { max_depth = [2, 4] }
cv = 3

[evaluation]
task = "classification"
holdout = 0.25
cv_folds = 4
primary_metric = "f1"

[promotion]
alias = "production"
min_improvement = 0.01
significance = 0.05
floors = { recall = 0.80 }

[drift]
current = "predictions"
drift_share = 0.3
performance_drop = 0.05

[schedule]
cron = "0 2 * * *"

[alerts]
webhook = ""
max_model_age_days = 30
"""


def test_the_issue_example_loads_completely(workdir):
    (workdir / "p.toml").write_text(FULL)
    spec = load_spec(workdir / "p.toml")
    assert spec.model.name == "churn"
    assert spec.data.source == str(workdir / "train.csv")
    assert spec.task == "classification" and spec.primary_metric == "f1"
    assert spec.search is not None and spec.search.params == {"max_depth": [2, 4]}
    assert spec.promotion.floors == {"recall": 0.8}
    assert spec.drift.drift_share == 0.3
    assert spec.origin == str(workdir / "p.toml")
    estimator = spec.new_estimator()
    assert isinstance(estimator, RandomForestClassifier) and estimator.n_estimators == 20
    with pytest.raises(Exception, match="frozen"):
        spec.model.name = "other"  # type: ignore[misc]


def test_the_documented_example_loads(tmp_path):
    """docs/training.md's reference block is a working pipeline file."""
    text = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "data").mkdir()
    frame = pd.DataFrame({"customer_id": range(40), "tenure": range(40), "churned": [0, 1] * 20})
    frame.to_csv(tmp_path / "data" / "churn.csv", index=False)
    (tmp_path / "churn.toml").write_text(example)
    spec = load_spec(tmp_path / "churn.toml")
    assert spec.performance_metric == "f1" and spec.promotion.test == "auto"


def test_defaults_and_inferred_task(write_pipeline):
    spec = load_spec(
        write_pipeline('class = "sklearn.linear_model.Ridge"', extra="", name="diabetes")
    )
    assert spec.task == "regression"
    assert spec.primary_metric == "rmse"
    assert spec.performance_metric == "rmse"
    assert spec.promotion.alias == "production" and spec.promotion.significance == 0.05
    assert spec.drift.current == "predictions"


def test_pipeline_steps_and_their_search_params(write_pipeline):
    steps = """
[[estimator.steps]]
name = "scale"
class = "sklearn.preprocessing.StandardScaler"

[[estimator.steps]]
name = "model"
class = "sklearn.linear_model.LogisticRegression"
params = { max_iter = 500 }
"""
    path = write_pipeline(steps, extra="[search]\nparams = { model__C = [0.1, 1.0] }")
    spec = load_spec(path)
    built = spec.new_estimator()
    assert isinstance(built, Pipeline) and [name for name, _ in built.steps] == ["scale", "model"]
    assert spec.task == "classification"


def _bad(write_pipeline, estimator=None, extra="", **kwargs):
    args = {} if estimator is None else {"estimator": estimator}
    path = write_pipeline(extra=extra, **args, **kwargs)
    with pytest.raises(InvalidInput) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("[promotion]\nalais = 'x'", "promotion.alais"),
        ("[promotion]\nsignificance = 'maybe'", "significance"),
        ("[promotion]\nfloors = { recal = 0.8 }", "promotion.floors.recal"),
        ("[promotion]\nalias = 'candidate'", "candidate"),
        ("[search]\nparams = { max_dept = [2] }", "search.params.max_dept"),
        ("[schedule]\ncron = 'every day'", "schedule.cron"),
        ("[alerts]\nwebhook = 'slack.com/hook'", "webhook"),
        ("[drift]\nperformance_metric = 'roc_auc'", "drift.performance_metric"),
        ("[drift]\nthresholds = { kss = 0.1 }", "drift.thresholds"),
        ("allowed_prefixes = ['os']", "allowed_prefixes"),
        ("[training]\nx = 1", "training"),
    ],
)
def test_bad_values_name_their_key(write_pipeline, extra, named):
    assert named in _bad(write_pipeline, extra=extra)


@pytest.mark.parametrize(
    ("evaluation", "named"),
    [
        ("holdout = 1.5", "evaluation.holdout"),
        ("primary_metric = 'rmse'", "evaluation.primary_metric"),
        ("task = 'ranking'", "evaluation.task"),
    ],
)
def test_bad_evaluation_values_name_their_key(write_pipeline, evaluation, named):
    assert named in _bad(write_pipeline, evaluation=evaluation)


def test_an_unknown_key_inside_a_section(write_pipeline):
    estimator = 'clas = "sklearn.ensemble.RandomForestClassifier"'
    message = _bad(write_pipeline, estimator)
    assert "estimator.clas" in message and "unknown key" in message


def test_a_missing_data_file(write_pipeline):
    message = _bad(write_pipeline, source="nowhere.csv")
    assert "data.source" in message and "nowhere.csv" in message


def test_a_missing_pipeline_file(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_spec(tmp_path / "absent.toml")


def test_invalid_toml(tmp_path):
    (tmp_path / "p.toml").write_text("[model\nname=")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        load_spec(tmp_path / "p.toml")


def test_a_misspelt_estimator_parameter_fails_at_load(write_pipeline):
    estimator = 'class = "sklearn.ensemble.RandomForestClassifier"\nparams = { n_estimator = 5 }'
    message = _bad(write_pipeline, estimator)
    assert "estimator.params" in message and "n_estimator" in message


@pytest.mark.parametrize("path", ["os.system", "subprocess.Popen", "builtins.eval"])
def test_classes_outside_the_allowed_prefixes_are_refused(write_pipeline, path):
    message = _bad(write_pipeline, f'class = "{path}"')
    assert path in message and "allowed module prefixes" in message


def test_a_refused_module_is_never_imported(write_pipeline, capsys):
    """``this`` prints the Zen of Python when imported: refusing it must print nothing."""
    was_loaded = "this" in sys.modules
    message = _bad(write_pipeline, 'class = "this.Zen"')
    assert "this.Zen" in message
    assert "Beautiful is better" not in capsys.readouterr().out
    assert ("this" in sys.modules) == was_loaded


def test_allowed_prefixes_are_the_callers_choice(write_pipeline):
    path = write_pipeline()
    with pytest.raises(InvalidInput, match="outside the allowed"):
        load_spec(path, prefixes=["sklearn.linear_model"])
    lookalike = 'class = "sklearnx.Model"'
    assert "outside the allowed" in _bad(write_pipeline, lookalike)


def test_a_sql_source_needs_a_query(write_pipeline, workdir):
    message = _bad(write_pipeline, source="sqlite:///data.db")
    assert "data.query" in message


def test_target_required_unless_clustering(workdir):
    (workdir / "p.toml").write_text(
        '[model]\nname = "m"\n[data]\nsource = "train.csv"\n'
        '[estimator]\nclass = "sklearn.ensemble.RandomForestClassifier"\n'
    )
    with pytest.raises(InvalidInput, match=r"data\.target is required"):
        load_spec(workdir / "p.toml")
    (workdir / "k.toml").write_text(
        '[model]\nname = "k"\n[data]\nsource = "train.csv"\nignore = ["target"]\n'
        '[estimator]\nclass = "sklearn.cluster.KMeans"\nparams = { n_clusters = 2 }\n'
    )
    spec = load_spec(workdir / "k.toml")
    assert spec.task == "clustering" and spec.primary_metric == "silhouette"
    assert spec.performance_metric is None


def test_every_drift_detector_setting_is_a_drift_key(write_pipeline):
    """A setting added to DriftDetector must be reachable from the pipeline file."""
    import inspect

    from ferry.drift import DriftDetector
    from ferry.drift.methods import DEFAULT_THRESHOLDS

    extra = """[drift]
numeric_test = "mean_shift"
categorical_test = "jensen_shannon"
mean_shift_threshold = 2.5
thresholds = { psi = 0.3 }
ks_threshold = 0.01
correction = "fdr"
drift_share = 0.2
ignore = ["mean radius"]
numeric = ["mean texture"]
psi_bins = 20
low_cardinality = 5
max_categories = 50
ks_method = "asymp"
n_jobs = 2
"""
    spec = load_spec(write_pipeline(extra=extra))
    params = spec.drift.detector_params()
    derived = {"performance_metric", "performance_baseline"}  # from the trained version
    signature = inspect.signature(DriftDetector.__init__).parameters
    assert set(params) == set(signature) - {"self"} - derived
    keys = set(type(spec.drift).model_fields)
    assert {f"{test}_threshold" for test in DEFAULT_THRESHOLDS} <= keys
    assert params["thresholds"] == {"psi": 0.3, "mean_shift": 2.5, "ks": 0.01}
    assert params["numeric_test"] == "mean_shift" and params["ignore"] == ["mean radius"]
    detector = DriftDetector(**params)
    assert detector.get_params()["ks_method"] == "asymp"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('numeric_test = "mean"', "drift.numeric_test='mean' is not one of"),
        ('categorical_test = "ks"', "drift.categorical_test='ks'"),
        ("mean_shift_threshold = -1", "drift.thresholds['mean_shift']=-1.0 must be positive"),
        ("ks_threshold = 1.5", "between 0 and 1"),
        ("mean_shift_threshold = 2.0\nthresholds = { mean_shift = 3.0 }", "disagree"),
        ('ks_method = "fast"', "drift.ks_method='fast'"),
        ("psi_bins = 1", "drift.psi_bins=1 must be an integer of at least 2"),
        ("n_jobs = 0", "drift.n_jobs=0"),
        ('categorical = ["a"]\nnumeric = ["a"]', "both list ['a']"),
    ],
)
def test_bad_drift_settings_are_refused_when_the_file_loads(write_pipeline, extra, named):
    assert named in _bad(write_pipeline, extra=f"[drift]\n{extra}")


def test_an_unknown_key_lists_the_allowed_ones(write_pipeline):
    message = _bad(write_pipeline, extra='[drift]\nnumeric_tests = "mean_shift"')
    assert "unknown key 'drift.numeric_tests'; allowed keys: " in message
    assert "mean_shift_threshold" in message and "numeric_test," in message


@pytest.mark.parametrize("depth", [20, 5000])
def test_a_deeply_nested_search_table_is_refused_by_name(write_pipeline, depth):
    nested = "[" * depth + "1" + "]" * depth
    message = _bad(write_pipeline, extra=f"[search]\nparams = {{ max_depth = {nested} }}")
    assert "RecursionError" not in message and "nested" in message and "16 levels" in message
    if depth == 20:
        assert "search.params.max_depth is nested more than 16 levels deep" in message


LOGISTIC = 'class = "sklearn.linear_model.LogisticRegression"'
SCALED = """[[estimator.steps]]
name = "scale"
class = "sklearn.preprocessing.StandardScaler"
[[estimator.steps]]
name = "model"
class = "sklearn.linear_model.LogisticRegression"
"""


@pytest.mark.parametrize(
    ("estimator", "extra", "named"),
    [
        (f'{LOGISTIC}\nparams = {{ max_iter = "lots" }}', "",
         "estimator.params.max_iter = 'lots': The 'max_iter' parameter of LogisticRegression "
         "must be an int"),
        (f"{LOGISTIC}\nparams = {{ C = -1.0 }}", "", "estimator.params.C = -1.0"),
        (f"{SCALED}\n[estimator.params]\nmodel__max_iter = -3", "",
         "estimator.params.model__max_iter = -3"),
        (LOGISTIC, '[search]\nparams = { C = [1.0, "big"] }', "search.params.C = 'big'"),
        (SCALED, '[search]\nparams = { model__penalty = ["l2", "l3"] }',
         "search.params.model__penalty = 'l3'"),
        (LOGISTIC, "[search]\nparams = { C = [1.0] }\ncv = 101", "search.cv"),
    ],
)  # fmt: skip
def test_wrong_parameter_values_are_refused_when_the_file_loads(
    write_pipeline, estimator, extra, named
):
    assert named in _bad(write_pipeline, estimator, extra=extra)


def test_more_than_100_folds_is_refused_when_the_file_loads(write_pipeline):
    message = _bad(write_pipeline, cv_folds=100000)
    assert "evaluation.cv_folds" in message and "100000" in message and "100" in message
    assert load_spec(write_pipeline(cv_folds=100)).evaluation.cv_folds == 100
