"""DriftDetector: learn a reference once, then compare any current data against it.

A scikit-learn style component: the constructor stores its keyword arguments and nothing else;
``fit`` checks them, types the columns and computes every reference statistic (the state ending
in ``_``); ``check`` compares current data and returns a :class:`DriftReport`. A fitted detector
saves to one ``.npz`` file, so a registered model version can carry its reference profile.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ferry.drift.columns import Column, check_frame, plan_columns
from ferry.drift.decision import decide, drift_share
from ferry.drift.parallel import map_columns
from ferry.drift.performance import PerformanceDrift, compare, score
from ferry.drift.predictions import prediction_frame
from ferry.drift.profile import Profile, SkippedProfile, build_profile, has_values
from ferry.drift.report import DriftReport, FeatureDrift
from ferry.drift.sample_size import sample_size_warnings
from ferry.drift.settings import DriftSettings
from ferry.drift.suite import evaluate
from ferry.errors import InvalidInput, NotReady
from ferry.frames import Table

FITTED_PARAMS = frozenset(
    {
        "categorical",
        "numeric",
        "low_cardinality",
        "max_categories",
        "performance_metric",
        "performance_baseline",
    }
)
"""Settings baked into a fitted reference (column types, the performance baseline): changing
them takes a new ``fit``; every other setting can be changed on a loaded detector."""


class DriftDetector:
    """Is current data different from the reference? Per-feature tests and one decision.

    Every argument is described in ``docs/drift.md``; in short: ``numeric_test`` and
    ``categorical_test`` pick the deciding test per column type, ``thresholds`` overrides the
    default level of any test, ``correction`` adjusts p-value thresholds for the number of
    columns, and the data drifts when the share of drifted features reaches ``drift_share``.
    """

    def __init__(
        self,
        *,
        numeric_test: str = "ks",
        categorical_test: str = "chi2",
        thresholds: Mapping[str, float] | None = None,
        correction: str = "bonferroni",
        drift_share: float = 0.05,
        categorical: Sequence[str] | None = None,
        numeric: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        psi_bins: int = 10,
        low_cardinality: int = 10,
        max_categories: int = 1000,
        ks_method: str = "auto",
        n_jobs: int | None = None,
        performance_metric: str | None = None,
        performance_baseline: float | None = None,
        performance_threshold: float = 0.05,
    ) -> None:
        self.numeric_test = numeric_test
        self.categorical_test = categorical_test
        self.thresholds = thresholds
        self.correction = correction
        self.drift_share = drift_share
        self.categorical = categorical
        self.numeric = numeric
        self.ignore = ignore
        self.psi_bins = psi_bins
        self.low_cardinality = low_cardinality
        self.max_categories = max_categories
        self.ks_method = ks_method
        self.n_jobs = n_jobs
        self.performance_metric = performance_metric
        self.performance_baseline = performance_baseline
        self.performance_threshold = performance_threshold

    # -- scikit-learn parameter protocol ------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, as scikit-learn's ``clone`` expects."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> DriftDetector:
        """Change constructor arguments; takes effect at the next ``fit``."""
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise InvalidInput(f"DriftDetector has no parameters {unknown}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if value != defaults.get(name)
        ]
        return f"DriftDetector({', '.join(changed)})"

    # -- learning -----------------------------------------------------------------------

    def fit(
        self, reference: Table, *, predictions: Any = None, labels: Any = None
    ) -> DriftDetector:
        """Learn the reference (pandas, polars or numpy): column types and every statistic
        the tests need, once.

        ``predictions`` (the model's outputs on ``reference``) enable prediction drift;
        ``labels`` with ``predictions`` compute the performance baseline when
        ``performance_baseline`` is not given (prefer the version's recorded holdout metric).
        """
        settings = DriftSettings.from_params(self.get_params())
        frame = check_frame(reference, "reference")
        columns = plan_columns(
            frame,
            categorical=settings.categorical,
            numeric=settings.numeric,
            ignore=settings.ignore,
        )
        outputs = None
        if predictions is not None:
            outputs = prediction_frame(predictions, len(frame), "reference")
        baseline = settings.performance_baseline
        labelled = labels is not None and predictions is not None
        if baseline is None and settings.performance_metric and labelled:
            baseline, _ = score(settings.performance_metric, labels, predictions)
        profiles = _profile(frame, columns, settings)
        _require_values(profiles)
        output_profiles = None
        if outputs is not None:
            plan = plan_columns(outputs, categorical=(), numeric=(), ignore=())
            output_profiles = _profile(outputs, plan, settings)
        # Learned state is assigned last, so a fit that fails leaves the detector as it was.
        self.settings_ = settings
        self.reference_rows_ = len(frame)
        self.feature_names_in_ = [column.name for column in columns]
        self.profiles_ = profiles
        self.prediction_profiles_: list[tuple[str, Profile]] | None = output_profiles
        self.performance_baseline_ = baseline
        return self

    # -- checking -----------------------------------------------------------------------

    def check(self, current: Table, *, predictions: Any = None, labels: Any = None) -> DriftReport:
        """Compare ``current`` with the reference and decide.

        ``predictions`` (the model's outputs on ``current``) add prediction drift; ``labels``
        (ground truth for those predictions, NaN where unknown) add performance drift.
        """
        profiles = self._fitted()
        frame = check_frame(current, "current")
        _require_columns(profiles, frame)
        settings = self.settings_
        features = decide(evaluate(profiles, frame, settings), settings)
        return DriftReport(
            features=tuple(features),
            drift_share=drift_share(features),
            drift_share_threshold=settings.drift_share,
            correction=settings.correction,
            reference_rows=self.reference_rows_,
            current_rows=len(frame),
            prediction=self._prediction_drift(predictions, len(frame)),
            performance=self._performance_drift(predictions, labels),
            warnings=sample_size_warnings(self.reference_rows_, len(frame)),
        )

    def _fitted(self) -> list[tuple[str, Profile]]:
        profiles: list[tuple[str, Profile]] | None = getattr(self, "profiles_", None)
        if profiles is None:
            raise NotReady(
                "this DriftDetector is not fitted yet: call fit(reference) first, "
                "or DriftDetector.load(path) for a saved one"
            )
        return profiles

    def _prediction_drift(self, predictions: Any, rows: int) -> tuple[FeatureDrift, ...] | None:
        if predictions is None:
            return None
        if self.prediction_profiles_ is None:
            raise InvalidInput(
                "predictions were given to check() but the detector was fitted without them: "
                "pass the model's outputs on the reference as fit(reference, predictions=...)"
            )
        outputs = prediction_frame(predictions, rows, "current")
        names = [name for name, _ in self.prediction_profiles_]
        if outputs.shape[1] != len(names):
            raise InvalidInput(
                f"predictions have {outputs.shape[1]} columns but the reference's had "
                f"{len(names)}: pass the same model's outputs"
            )
        outputs.columns = pd.Index(names)  # matched by position: names may differ by container
        findings = evaluate(self.prediction_profiles_, outputs, self.settings_)
        return tuple(decide(findings, self.settings_))

    def _performance_drift(self, predictions: Any, labels: Any) -> PerformanceDrift | None:
        if labels is None:
            return None
        metric = self.settings_.performance_metric
        if metric is None or predictions is None:
            raise InvalidInput(
                "labels were given but performance drift also needs predictions= and the "
                "detector's performance_metric (e.g. 'accuracy' or 'rmse')"
            )
        if self.performance_baseline_ is None:
            raise InvalidInput(
                f"no {metric} baseline: set performance_baseline (the version's recorded "
                "metric) or pass labels and predictions to fit()"
            )
        current, rows = score(metric, labels, predictions)
        threshold = self.settings_.performance_threshold
        return compare(metric, self.performance_baseline_, current, threshold, rows)

    # -- persistence --------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted detector to one ``.npz`` file (no pickle) and return its path."""
        from ferry.drift.storage import save_detector

        self._fitted()
        return save_detector(self, Path(path))

    @classmethod
    def load(
        cls, source: str | os.PathLike[str] | bytes | IO[bytes], **overrides: Any
    ) -> DriftDetector:
        """A fitted detector from a file written by :meth:`save` (a path, bytes or a stream).

        ``overrides`` replace the saved settings that decide rather than learn (tests,
        thresholds, correction, ``drift_share``, ``ignore``, ``psi_bins`` ...), so a monitor
        applies today's settings to a profile fitted months ago. What ``fit`` learned from the
        reference (column types: ``FITTED_PARAMS``) needs a refit and is refused here.
        """
        from ferry.drift.storage import load_detector

        return load_detector(cls, source, overrides)


def _profile(
    frame: pd.DataFrame, columns: list[Column], settings: DriftSettings
) -> list[tuple[str, Profile]]:
    def learn(column: Column) -> tuple[str, Profile]:
        profile = build_profile(
            frame[column.label],
            column,
            psi_bins=settings.psi_bins,
            low_cardinality=settings.low_cardinality,
            max_categories=settings.max_categories,
        )
        return column.name, profile

    return map_columns(learn, columns, settings.n_jobs)


def _require_values(profiles: Sequence[tuple[str, Profile]]) -> None:
    """A reference column without a single value has no distribution to compare against."""
    empty = [
        name
        for name, profile in profiles
        if not isinstance(profile, SkippedProfile) and not has_values(profile)
    ]
    if empty:
        raise InvalidInput(
            f"the reference has no values in columns {empty} (all missing, or all infinite): "
            "there is nothing to compare them with; drop them, or list them in ignore"
        )


def _require_columns(profiles: Sequence[tuple[str, Profile]], frame: pd.DataFrame) -> None:
    """Every compared column must be present; name all the missing ones at once."""
    present = {str(label) for label in frame.columns}
    missing = [
        name
        for name, profile in profiles
        if name not in present and not isinstance(profile, SkippedProfile)
    ]
    if missing:
        raise InvalidInput(
            f"the current data lacks columns of the reference: {missing}; pass them, "
            "or refit with them in ignore"
        )
