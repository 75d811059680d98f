"""Trainer, holdout split and evaluation for each task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, make_blobs
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Ridge
from sklearn.metrics import f1_score, silhouette_score

from ferry.errors import InvalidInput, NotReady
from ferry.training.evaluation import evaluate, split_holdout
from ferry.training.trainer import Trainer


@pytest.fixture(scope="module")
def cancer(cancer_frame):
    return cancer_frame.drop(columns="target"), cancer_frame["target"]


def test_split_is_seeded_and_stratified(cancer):
    features, target = cancer
    first = split_holdout(features, target, task="classification", fraction=0.25, random_state=0)
    second = split_holdout(features, target, task="classification", fraction=0.25, random_state=0)
    assert first.test_features.index.equals(second.test_features.index)
    assert len(first.test_features) == 143
    assert first.test_target is not None
    assert first.test_target.mean() == pytest.approx(target.mean(), abs=0.01)
    with pytest.raises(InvalidInput, match="holdout"):
        split_holdout(features.head(2), target.head(2), task="regression", fraction=0.5,
                      random_state=0)  # fmt: skip


def test_classification_metrics_on_the_holdout(cancer):
    features, target = cancer
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(features, target)
    result = evaluate(model, features, target, "classification")
    assert set(result.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert result.metrics["f1"] == pytest.approx(f1_score(target, model.predict(features)))
    assert result.probabilities is not None and result.probabilities.shape == (len(target), 2)


def test_grid_search_picks_by_the_primary_metric_and_cv_covers_every_row(cancer):
    features, target = cancer
    trainer = Trainer(
        RandomForestClassifier(n_estimators=5, random_state=0),
        primary_metric="accuracy",
        search_params={"max_depth": [1, 6]},
        search_cv=3,
        cv_folds=3,
    )
    with pytest.raises(NotReady, match="call fit"):
        trainer.cross_validate(features, target)
    trainer.fit(features, target)
    assert trainer.best_params_ == {"max_depth": 6}
    assert trainer.fit_seconds_ > 0
    cv = trainer.cross_validate(features, target)
    assert cv.folds == 3 and len(cv.out_of_fold) == len(features)
    assert set(np.unique(cv.out_of_fold)) == {0, 1}
    assert "f1" in cv.mean and "f1_std" in cv.to_dict()


def test_regression(cancer):
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    trainer = Trainer(Ridge(), task="regression", primary_metric="rmse", cv_folds=2)
    trainer.fit(features, target)
    result = evaluate(trainer.model_, features, target, "regression")
    assert set(result.metrics) == {"rmse", "mae", "r2"}
    assert 0 < result.metrics["r2"] < 1
    assert trainer.cross_validate(features, target).mean["rmse"] > result.metrics["rmse"] * 0.9


def test_grid_search_minimises_losses():
    features, target = load_diabetes(return_X_y=True, as_frame=True)
    grid = {"alpha": [0.001, 1000.0]}
    trainer = Trainer(Ridge(), task="regression", primary_metric="rmse", search_params=grid)
    assert trainer.fit(features, target).best_params_ == {"alpha": 0.001}


def test_clustering_scores_silhouette_and_inertia_on_new_rows():
    points, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    features = pd.DataFrame(points, columns=["a", "b"])
    trainer = Trainer(KMeans(n_clusters=3, n_init=2, random_state=0), task="clustering",
                      primary_metric="silhouette", cv_folds=2).fit(features)  # fmt: skip
    result = evaluate(trainer.model_, features, None, "clustering")
    assert result.metrics["silhouette"] == pytest.approx(
        silhouette_score(points, trainer.model_.predict(features))
    )
    assert result.metrics["inertia"] == pytest.approx(trainer.model_.inertia_)
    cv = trainer.cross_validate(features)
    assert cv.mean["silhouette"] == pytest.approx(result.metrics["silhouette"], abs=0.15)
