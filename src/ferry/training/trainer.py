"""Trainer: an optional grid search, the final fit, and k-fold cross-validation.

A scikit-learn style component: the constructor stores its arguments, ``fit`` learns the model
(``model_``, ``best_params_``, ``fit_seconds_``). Search and cross-validation score with the same
metric code as the holdout, so a number means the same thing wherever it appears.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.errors import NotReady
from ferry.training.evaluation import evaluate
from ferry.training.metrics import LOWER_IS_BETTER


@dataclass(frozen=True, eq=False)
class CrossValidation:
    """Per-metric mean and standard deviation over the folds, and out-of-fold predictions."""

    folds: int
    mean: dict[str, float]
    std: dict[str, float]
    out_of_fold: NDArray[Any]

    def to_dict(self) -> dict[str, float]:
        """``{metric: mean, metric_std: std}`` for the run record and the CLI."""
        found = dict(self.mean)
        found.update({f"{name}_std": value for name, value in self.std.items()})
        return found


class Trainer:
    """Search (optional), fit and cross-validate one estimator for one task."""

    def __init__(
        self,
        estimator: Any,
        *,
        task: str = "classification",
        primary_metric: str = "f1",
        search_params: Mapping[str, Sequence[Any]] | None = None,
        search_cv: int = 3,
        cv_folds: int = 5,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.task = task
        self.primary_metric = primary_metric
        self.search_params = search_params
        self.search_cv = search_cv
        self.cv_folds = cv_folds
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments (scikit-learn's parameter protocol)."""
        return {
            "estimator": self.estimator,
            "task": self.task,
            "primary_metric": self.primary_metric,
            "search_params": self.search_params,
            "search_cv": self.search_cv,
            "cv_folds": self.cv_folds,
            "random_state": self.random_state,
        }

    def fit(self, features: pd.DataFrame, target: pd.Series | None = None) -> Trainer:
        """Search the grid when there is one, then fit the chosen estimator on all of ``features``."""
        from sklearn.base import clone
        from sklearn.model_selection import GridSearchCV

        started = time.perf_counter()
        self.best_params_: dict[str, Any] | None = None
        if self.search_params:
            search = GridSearchCV(
                clone(self.estimator),
                param_grid={name: list(values) for name, values in self.search_params.items()},
                scoring=self._scorer,
                cv=self._folds(self.search_cv, target),
                refit=True,
                error_score="raise",
            )
            search.fit(features, target)
            self.model_ = search.best_estimator_
            self.best_params_ = dict(search.best_params_)
        else:
            self.model_ = clone(self.estimator).fit(features, target)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def cross_validate(
        self, features: pd.DataFrame, target: pd.Series | None = None
    ) -> CrossValidation:
        """k-fold CV of the fitted configuration on ``features`` (the training split, not the holdout)."""
        from sklearn.base import clone

        model = self._fitted()
        if self.cv_folds < 2:
            return CrossValidation(0, {}, {}, np.array([]))
        scores: list[dict[str, float]] = []
        out_of_fold: NDArray[Any] | None = None
        for train, test in self._folds(self.cv_folds, target).split(features, target):
            fold_target = None if target is None else target.iloc[train]
            fitted = clone(model).fit(features.iloc[train], fold_target)
            held_target = None if target is None else target.iloc[test]
            result = evaluate(fitted, features.iloc[test], held_target, self.task)
            scores.append(result.metrics)
            if out_of_fold is None:
                kind = result.predicted.dtype
                out_of_fold = np.empty(len(features), dtype=object if kind.kind in "OSU" else kind)
            out_of_fold[test] = result.predicted
        names = set.intersection(*(set(score) for score in scores))
        mean = {name: float(np.mean([score[name] for score in scores])) for name in sorted(names)}
        std = {name: float(np.std([score[name] for score in scores])) for name in sorted(names)}
        return CrossValidation(len(scores), mean, std, np.asarray(out_of_fold))

    def _fitted(self) -> Any:
        model = getattr(self, "model_", None)
        if model is None:
            raise NotReady("this Trainer is not fitted yet: call fit(features, target) first")
        return model

    def _scorer(self, estimator: Any, features: pd.DataFrame, target: pd.Series | None) -> float:
        """The primary metric as a score to maximise (losses negated), for the grid search."""
        value = evaluate(estimator, features, target, self.task).metrics.get(
            self.primary_metric, np.nan
        )
        return -value if self.primary_metric in LOWER_IS_BETTER else value

    def _folds(self, folds: int, target: pd.Series | None) -> Any:
        from sklearn.model_selection import KFold, StratifiedKFold

        if (
            self.task == "classification"
            and target is not None
            and int(target.value_counts().min()) >= folds
        ):
            return StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        return KFold(folds, shuffle=True, random_state=self.random_state)
