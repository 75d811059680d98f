"""The sections of a pipeline file, one pydantic model each: unknown keys are refused.

Each model checks its own values (ranges, choices, the shape of a section); checks that need
several sections together, or the estimator, live in :mod:`ferry.training.spec`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ferry.config import LOW_CONFIDENCE
from ferry.errors import InvalidInput
from ferry.registry.refs import check_alias, check_name
from ferry.registry.rollout_plan import RolloutPlan, plan_of

PREDICTION_LOG = "predictions"
"""``[drift] current`` value meaning the server's prediction log (the default)."""

REJECTED_ALIAS = "candidate"
"""Where a rejected candidate is kept."""

MAX_FOLDS = 100
"""More folds than this is a typo, not a plan: each fold is a full fit (refused at load)."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class Section(BaseModel):
    """A strict, frozen section: unknown keys and loosely typed values are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ModelSection(Section):
    """``[model]``: which model the pipeline trains."""

    name: str
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)


class DataSection(Section):
    """``[data]``: where the training data comes from and which columns to use."""

    source: str
    query: str = ""
    target: str = ""
    features: list[str] = []
    ignore: list[str] = []
    min_rows: int = Field(default=20, ge=2)
    max_missing: float = Field(default=0.5, ge=0, le=1)

    @property
    def is_sql(self) -> bool:
        """True when ``source`` is a SQLAlchemy URL rather than a file."""
        return bool(_URL.match(self.source))

    @model_validator(mode="after")
    def _query(self) -> DataSection:
        if self.is_sql and not self.query.strip():
            raise ValueError("data.query is required when data.source is a SQL URL")
        if not self.is_sql and self.query.strip():
            raise ValueError("data.query applies only to a SQL source, not to a file")
        overlap = sorted(set(self.features) & set(self.ignore))
        if overlap:
            raise ValueError(f"data.features and data.ignore both list {overlap}")
        return self


class StepSection(Section):
    """One ``[[estimator.steps]]`` entry of a scikit-learn Pipeline."""

    name: str
    class_: str = Field(alias="class")
    params: dict[str, Any] = {}


class EstimatorSection(Section):
    """``[estimator]``: one class with its parameters, or Pipeline steps."""

    class_: str = Field(default="", alias="class")
    params: dict[str, Any] = {}
    steps: list[StepSection] = []

    @model_validator(mode="after")
    def _shape(self) -> EstimatorSection:
        if self.steps and self.class_ not in ("", "sklearn.pipeline.Pipeline"):
            raise ValueError("estimator: give either class or [[estimator.steps]], not both")
        if not self.steps and not self.class_:
            raise ValueError("estimator.class is required (or [[estimator.steps]])")
        return self


class SearchSection(Section):
    """``[search]``: a grid of parameter values tried by cross-validation on the training split."""

    params: dict[str, list[Any]]
    cv: int = Field(default=3, ge=2, le=MAX_FOLDS)

    @field_validator("params")
    @classmethod
    def _grid(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = sorted(name for name, options in value.items() if not options)
        if not value or empty:
            raise ValueError(f"give each searched parameter at least one value (empty: {empty})")
        return value


class EvaluationSection(Section):
    """``[evaluation]``: the task, the holdout (random or by time), k-fold CV, the metric
    decisions use, and how many unseen rows a champion/challenger comparison needs."""

    task: Literal["classification", "regression", "clustering"] | None = None
    holdout: float = Field(default=0.2, gt=0, lt=1)
    cv_folds: int = Field(default=5, ge=0, le=MAX_FOLDS)
    primary_metric: str | None = None
    random_state: int = 0
    split: Literal["random", "time"] = "random"
    time_column: str = ""
    min_comparison_rows: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _time(self) -> EvaluationSection:
        if self.split == "time" and not self.time_column:
            raise ValueError('evaluation.split = "time" needs evaluation.time_column')
        if self.split != "time" and self.time_column:
            raise ValueError('evaluation.time_column applies only with split = "time"')
        return self

    @field_validator("cv_folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("cv_folds must be 0 (no cross-validation) or at least 2")
        return value


class PromotionSection(Section):
    """``[promotion]``: when a candidate replaces the champion."""

    alias: str = "production"
    min_improvement: float = Field(default=0.0, ge=0)
    significance: float | None = 0.05
    floors: dict[str, float] = {}
    test: Literal["auto", "mcnemar", "bootstrap"] = "auto"
    bootstrap_samples: int = Field(default=1000, ge=100)
    rollout: dict[str, Any] | None = None
    """A winner is rolled out instead of promoted at once: ``"canary"``, ``"shadow"``, ``"ab"``,
    or a table of ``ferry rollout start`` options (``mode``, ``steps``, ``max_error_rate`` ...)."""

    @field_validator("rollout", mode="before")
    @classmethod
    def _rollout(cls, value: Any) -> Any:
        if value is None:
            return None
        options = {"mode": value} if isinstance(value, str) else value
        if not isinstance(options, dict):
            raise ValueError(
                'rollout must be "canary", "shadow", "ab" or a table of rollout options'
            )
        try:
            plan_of(dict(options))
        except InvalidInput as error:
            raise ValueError(f"rollout: {error}") from None
        return options

    def rollout_plan(self) -> RolloutPlan | None:
        """The plan a winner is rolled out with; None when it is promoted at once."""
        return None if self.rollout is None else plan_of(dict(self.rollout))

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        if check_alias(value) == REJECTED_ALIAS:
            raise ValueError(f"{REJECTED_ALIAS!r} holds rejected candidates; pick another alias")
        return value

    @field_validator("significance", mode="before")
    @classmethod
    def _significance(cls, value: Any) -> Any:
        if value == "none":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise ValueError(f'significance must be a level in (0, 1) or "none", got {value!r}')
        return float(value)


class DriftSection(Section):
    """``[drift]``: what the monitor compares, how (every ``DriftDetector`` setting), and when
    it retrains.

    The detector itself checks the tests, thresholds and methods (:mod:`ferry.drift.settings`),
    so its rules live in one place; this section only holds the values and their TOML types.
    """

    current: str = PREDICTION_LOG
    drift_share: float = Field(default=0.05, gt=0, le=1)
    performance_drop: float = Field(default=0.05, gt=0, le=1)
    performance_metric: str | None = None
    numeric_test: str = "ks"
    categorical_test: str = "chi2"
    correction: Literal["bonferroni", "fdr", "none"] = "bonferroni"
    thresholds: dict[str, float] = {}
    ks_threshold: float | None = None
    chi2_threshold: float | None = None
    psi_threshold: float | None = None
    wasserstein_threshold: float | None = None
    jensen_shannon_threshold: float | None = None
    mean_shift_threshold: float | None = None
    missing_rate_threshold: float | None = None
    categorical: list[str] = []
    numeric: list[str] = []
    ignore: list[str] = []
    psi_bins: int = 10
    low_cardinality: int = 10
    max_categories: int = 1000
    ks_method: str = "auto"
    n_jobs: int = -1
    min_rows: int = Field(default=50, ge=1)
    min_labels: int = Field(default=30, ge=1)
    retrain_on: list[Literal["data", "predictions", "performance"]] = [
        "data",
        "predictions",
        "performance",
    ]

    @field_validator("performance_metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _one_threshold_each(self) -> DriftSection:
        for test, value in self._named_thresholds().items():
            given = self.thresholds.get(test)
            if given is not None and given != value:
                raise ValueError(
                    f"drift.{test}_threshold = {value:g} and drift.thresholds.{test} = "
                    f"{given:g} disagree; give one of them"
                )
        return self

    def _named_thresholds(self) -> dict[str, float]:
        """The ``<test>_threshold`` keys that were given, by test."""
        suffix = "_threshold"
        return {
            name.removesuffix(suffix): value
            for name, value in self
            if name.endswith(suffix) and value is not None
        }

    def detector_params(self) -> dict[str, Any]:
        """The ``DriftDetector`` keyword arguments this section sets (all but the performance
        metric and its baseline, which come from the trained version)."""
        thresholds = {**self.thresholds, **self._named_thresholds()}
        return {
            "numeric_test": self.numeric_test,
            "categorical_test": self.categorical_test,
            "thresholds": thresholds or None,
            "correction": self.correction,
            "drift_share": self.drift_share,
            "categorical": self.categorical or None,
            "numeric": self.numeric or None,
            "ignore": self.ignore or None,
            "psi_bins": self.psi_bins,
            "low_cardinality": self.low_cardinality,
            "max_categories": self.max_categories,
            "ks_method": self.ks_method,
            "n_jobs": self.n_jobs,
            "performance_threshold": self.performance_drop,
        }


class ScheduleSection(Section):
    """``[schedule]``: when ``ferry schedule`` runs the monitor (crontab syntax), and whether a
    tick retrains only on drift or every time (the promotion policy still decides)."""

    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    retrain: Literal["always", "on_drift"] = "on_drift"

    @model_validator(mode="after")
    def _cron(self) -> ScheduleSection:
        try:
            from ferry.training.schedule import cron_trigger
        except ImportError:  # APScheduler is optional; ``ferry schedule`` checks it again
            return self
        cron_trigger(self.cron, self.timezone)
        return self


class AlertsSection(Section):
    """``[alerts]``: where alerts go and the limits that raise them."""

    webhook: str = ""
    max_model_age_days: float = Field(default=30, ge=0)
    low_confidence: float = Field(default=LOW_CONFIDENCE, ge=0, le=1)
    low_confidence_share: float = Field(default=0.2, ge=0, le=1)
    timeout: float = Field(default=5.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _older_name(cls, data: Any) -> Any:
        """``low_confidence_rate``, the key's first name, is still read."""
        if not isinstance(data, dict) or "low_confidence_rate" not in data:
            return data
        if "low_confidence_share" in data:
            raise ValueError(
                "alerts: give low_confidence_share only (low_confidence_rate is its older name)"
            )
        data = dict(data)
        data["low_confidence_share"] = data.pop("low_confidence_rate")
        return data

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"webhook must be an http:// or https:// URL, got {value!r}")
        return value
