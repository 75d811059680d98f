"""XGBoost: model files and boosters registered in XGBoost's own formats, never pickled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.errors import Unsupported


@pytest.fixture
def classifier(cancer: tuple[pd.DataFrame, pd.Series]) -> xgboost.XGBClassifier:
    X, y = cancer
    return xgboost.XGBClassifier(n_estimators=8, max_depth=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("suffix", [".ubj", ".json"])
def test_ferry_register_reads_a_saved_model_file_and_serves_its_answers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    classifier: xgboost.XGBClassifier,
    cancer: tuple[pd.DataFrame, pd.Series],
    suffix: str,
) -> None:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    path = tmp_path / f"churn{suffix}"
    classifier.save_model(path)
    result = CliRunner().invoke(app, ["register", str(path), "--name", "churn"])
    assert result.exit_code == 0, result.stderr
    rows = cancer[0].iloc[::50]
    with Registry(home=tmp_path / "home") as registry:
        loaded = registry.load("churn")
        answer = loaded.outputs(rows)
    assert answer.predictions is not None and answer.probabilities is not None
    assert answer.predictions.tolist() == classifier.predict(rows).tolist()
    np.testing.assert_allclose(answer.probabilities, classifier.predict_proba(rows), rtol=1e-6)
    metadata = loaded.metadata
    assert (metadata["flavor"], metadata["serialization"]) == ("xgboost", "ubj")
    assert [a["file"] for a in metadata["artifacts"] if a["file"].startswith("model")] == [
        "model.ubj"
    ]
    assert metadata["dependencies"]["xgboost"] == xgboost.__version__
    assert metadata["output_schema"]["classes"] == [0, 1]


def test_a_booster_from_xgboost_train_registers_as_the_task_its_objective_names(
    sqlite_registry: Registry,
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(X, label=y), 6
    )
    version = sqlite_registry.register(booster, "plain", input_example=X[:5], serialization="json")
    assert version.metadata["output_schema"]["task"] == "classifier"
    assert version.metadata["loader"]["file"] == "model.json"
    answer = sqlite_registry.load("plain").outputs(X[:20])
    assert answer.probabilities is not None and answer.predictions is not None
    expected = booster.predict(xgboost.DMatrix(X[:20]))
    np.testing.assert_allclose(answer.probabilities[:, 1], expected, rtol=1e-6)
    assert answer.predictions.tolist() == (expected > 0.5).astype(int).tolist()


def test_a_ranking_model_is_refused_naming_its_objective_and_the_route(
    sqlite_registry: Registry,
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    data = xgboost.DMatrix(X, label=rng.integers(0, 3, 40))
    data.set_group([20, 20])
    ranker = xgboost.train({"objective": "rank:pairwise"}, data, 2)
    with pytest.raises(Unsupported, match=r"objective 'rank:pairwise'.*XGBClassifier"):
        sqlite_registry.register(ranker, "ranker", input_example=X[:5])
    wrapper = xgboost.XGBRanker(n_estimators=2).fit(
        X, rng.integers(0, 3, 40), qid=[0] * 20 + [1] * 20
    )
    with pytest.raises(Unsupported, match=r"cannot serve a xgboost.XGBRanker"):
        sqlite_registry.register(wrapper, "ranker", input_example=X[:5])
    assert sqlite_registry.list_models() == []


def test_an_unreadable_model_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    path = tmp_path / "broken.json"
    path.write_text('{"not": "a model"}')
    result = CliRunner().invoke(app, ["register", str(path), "--name", "broken"])
    assert result.exit_code == 1
    assert "broken.json is not a readable XGBoost model" in result.stderr
