"""Drift on Spark DataFrames: the detector's own tests, fed by sketches instead of rows.

``fit_spark(DriftDetector(...), reference_df)`` learns the same reference profile ``fit`` learns
from pandas, and ``check_spark(detector, current_df)`` returns the same :class:`DriftReport`,
JSON and HTML included. Only sketches travel to the driver (see :mod:`ferry.spark.sketches`).

While a column has at most ``SKETCH_POINTS`` distinct values per partition and merged (and at
most ``EXACT_LIMIT`` values), its sketch is exact and every statistic equals the in-memory
detector's. Past that, the tests run on ``SAMPLE_POINTS`` equal-weight quantiles of each side:
PSI, chi-square, Jensen-Shannon and missing rates stay exact on counts; the KS statistic is
within ``2 * (2 / SKETCH_POINTS + 1 / SAMPLE_POINTS)`` (about 2.8e-4) of the exact one, its
p-value uses the true row counts (asymptotic); Wasserstein moves by at most that CDF error
times the column's range (docs/spark.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ferry.drift.categories import AlignedCounts, category_key
from ferry.drift.columns import Column, is_numeric, plan_columns
from ferry.drift.decision import decide, drift_share
from ferry.drift.detector import DriftDetector, _require_columns, _require_values
from ferry.drift.histogram import numeric_histogram
from ferry.drift.methods.ks import ks_asymptotic, ks_statistic, uses_exact
from ferry.drift.methods.mean_shift import mean_shift
from ferry.drift.methods.outcome import Outcome
from ferry.drift.methods.psi import numeric_psi
from ferry.drift.methods.unseen import out_of_range
from ferry.drift.methods.wasserstein import wasserstein
from ferry.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    Profile,
    SkippedProfile,
    _identifier_like,
    build_profile,
)
from ferry.drift.report import DriftReport
from ferry.drift.sample_size import sample_size_warnings
from ferry.drift.settings import DriftSettings
from ferry.drift.suite import ColumnFindings, _emptiness, _Evidence, conclude
from ferry.errors import InvalidInput
from ferry.spark.compat import quiet_pandas_warnings
from ferry.spark.frames import sketch_frame
from ferry.spark.sketches import Sketch, is_sample_exact, sorted_sample

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def fit_spark(detector: DriftDetector, reference: DataFrame) -> DriftDetector:
    """``detector.fit(reference)`` for a Spark DataFrame; returns the fitted detector."""
    settings = DriftSettings.from_params(detector.get_params())
    columns = plan_columns(
        _empty_like(reference),
        categorical=settings.categorical,
        numeric=settings.numeric,
        ignore=settings.ignore,
    )
    plan = [(c.name, c.kind) for c in columns if c.kind != "timestamp"]
    sketches = sketch_frame(reference, plan, max_categories=settings.max_categories)
    return learn(detector, columns, sketches)


def check_spark(detector: DriftDetector, current: DataFrame) -> DriftReport:
    """``detector.check(current)`` for a Spark DataFrame (a detector fitted either way)."""
    profiles = detector._fitted()
    empty = _empty_like(current)
    _require_columns(profiles, empty)
    plan = [(name, _kind(name, profile, empty)) for name, profile in profiles if _tested(profile)]
    return compare(detector, sketch_frame(current, plan))


def learn(
    detector: DriftDetector, columns: list[Column], sketches: dict[str, Sketch]
) -> DriftDetector:
    """The driver's half of :func:`fit_spark`: the reference profile from merged sketches."""
    settings = DriftSettings.from_params(detector.get_params())
    rows = _rows(sketches, "reference")
    profiles = [(c.name, _profile(c, sketches.get(c.name), rows, settings)) for c in columns]
    _require_values(profiles)
    detector.settings_ = settings
    detector.reference_rows_ = rows
    detector.feature_names_in_ = [column.name for column in columns]
    detector.profiles_ = profiles
    detector.prediction_profiles_ = None
    detector.performance_baseline_ = settings.performance_baseline
    return detector


def compare(detector: DriftDetector, sketches: dict[str, Sketch]) -> DriftReport:
    """The driver's half of :func:`check_spark`: every test on merged sketches, one report."""
    rows = _rows(sketches, "current")
    settings = detector.settings_
    findings = [_findings(name, p, sketches, settings) for name, p in detector._fitted()]
    features = decide(findings, settings)
    return DriftReport(
        features=tuple(features),
        drift_share=drift_share(features),
        drift_share_threshold=settings.drift_share,
        correction=settings.correction,
        reference_rows=detector.reference_rows_,
        current_rows=rows,
        warnings=sample_size_warnings(detector.reference_rows_, rows),
    )


def _empty_like(df: DataFrame) -> pd.DataFrame:
    """A pandas frame with the DataFrame's columns and dtypes and no rows (for typing)."""
    with quiet_pandas_warnings():
        return df.limit(0).toPandas()


def _rows(sketches: dict[str, Sketch], role: str) -> int:
    rows = max((sketch.rows for sketch in sketches.values()), default=0)
    if rows == 0:
        raise InvalidInput(f"the {role} data has no rows: drift needs at least one row")
    return rows


def _tested(profile: Profile) -> bool:
    return not isinstance(profile, SkippedProfile)


def _kind(name: str, profile: Profile, empty: pd.DataFrame) -> str:
    """How the current column is sketched; a numeric reference needs numbers here too."""
    if isinstance(profile, CategoricalProfile):
        return "categorical"
    series = empty[name]
    if not (is_numeric(series) or pd.api.types.is_bool_dtype(series.dtype)):
        raise InvalidInput(
            f"column {name!r} is numeric in the reference but has dtype {series.dtype} in the "
            "current data: convert it, or list the column in ignore"
        )
    return "numeric"


# -- fitting --------------------------------------------------------------------------------


def _profile(column: Column, sketch: Sketch | None, rows: int, settings: DriftSettings) -> Profile:
    """The profile ``build_profile`` would learn from the whole column, from its sketch."""
    if sketch is None:  # a timestamp: listed, never compared
        return build_profile(
            pd.Series([], dtype=object), column, psi_bins=settings.psi_bins,
            low_cardinality=settings.low_cardinality, max_categories=settings.max_categories,
        )  # fmt: skip
    if column.kind == "categorical":
        return _categorical_profile(column, sketch, rows, settings.max_categories)
    values, weights = sketch.values, sketch.weights
    distinct = 0 if values is None else values.size
    few = 0 < distinct <= settings.low_cardinality
    if not column.forced and sketch.exact and few and values is not None and weights is not None:
        counts: dict[str, int] = {}
        for value, weight in zip(values, weights, strict=True):
            key = category_key(float(value))
            counts[key] = counts.get(key, 0) + int(weight)
        return CategoricalProfile.from_counts(counts, rows)
    profile = NumericProfile.from_sorted(sorted_sample(sketch), rows, settings.psi_bins)
    if is_sample_exact(sketch) or sketch.count == 0:
        return profile
    std = float(np.sqrt(sketch.m2 / sketch.count))
    return replace(profile, missing=sketch.missing, mean=sketch.mean, std=std)


def _categorical_profile(column: Column, sketch: Sketch, rows: int, max_categories: int) -> Profile:
    if sketch.categories is None:  # capped while sketching: more categories than allowed
        return SkippedProfile(
            "categorical",
            f"more than max_categories={max_categories} distinct values: an identifier or "
            "free text? list it in ignore, or raise max_categories",
        )
    reason = _identifier_like(sketch.categories, max_categories)
    if reason is not None and not column.forced:
        return SkippedProfile("categorical", reason)
    return CategoricalProfile.from_counts(sketch.categories, rows)


# -- checking -------------------------------------------------------------------------------


def _findings(
    name: str, profile: Profile, sketches: dict[str, Sketch], settings: DriftSettings
) -> ColumnFindings:
    if isinstance(profile, SkippedProfile):
        return conclude(_Evidence(name, profile, 0, 0, {}), settings)
    sketch = sketches[name]
    if isinstance(profile, CategoricalProfile):
        aligned = AlignedCounts.align(profile.categories, profile.counts, sketch.categories or {})
        empty = _emptiness(int(profile.counts.sum()), int(aligned.current.sum()), "categorical")
        evidence = _Evidence(
            name, profile, sketch.rows, sketch.missing, {}, aligned=aligned, empty=empty
        )
        return conclude(evidence, settings)
    return conclude(_numeric_evidence(name, profile, sketch, settings), settings)


def _numeric_evidence(
    name: str, profile: NumericProfile, sketch: Sketch, settings: DriftSettings
) -> _Evidence:
    """The in-memory tests on the current sample; KS and the histogram from true counts."""
    sample = sorted_sample(sketch)
    empty = _emptiness(profile.values.size, sample.size, "numeric")
    if empty is not None:
        return _Evidence(name, profile, sketch.rows, sketch.missing, {}, empty=empty)
    n_reference = profile.rows - profile.missing
    exact = is_sample_exact(sketch) and profile.values.size == n_reference
    outcomes: dict[str, Outcome] = {}
    ks_input: np.ndarray | None = None
    if exact and uses_exact(settings.ks_method, n_reference, sketch.count):
        ks_input = sample  # scipy's exact p-value on every value, as in memory
    else:
        statistic = ks_statistic(profile, sample)
        outcomes["ks"] = ks_asymptotic(statistic, n_reference, sketch.count, settings.ks_method)
    current_mean = sample if exact else np.array([sketch.mean])
    outcomes |= {
        "wasserstein": wasserstein(profile, sample),
        "psi": numeric_psi(profile, sample),
        "mean_shift": mean_shift(profile, current_mean),
        "out_of_range": out_of_range(profile, sample),
    }
    histogram = numeric_histogram(profile, sample)
    if not exact:
        histogram = replace(histogram, current=_weighted_counts(sketch, profile.display_edges))
    return _Evidence(
        name, profile, sketch.rows, sketch.missing, outcomes,
        histogram=histogram, ks_input=ks_input,
    )  # fmt: skip


def _weighted_counts(sketch: Sketch, edges: np.ndarray) -> tuple[int, ...]:
    """Rows per display bin from a compressed sketch's weights (rounded to whole rows)."""
    values = sketch.values if sketch.values is not None else np.empty(0)
    weights = sketch.weights if sketch.weights is not None else np.empty(0)
    cumulative = np.concatenate(([0.0], np.cumsum(weights)))
    inside = cumulative[np.searchsorted(values, edges, side="right")]  # right-closed bins
    bounds = np.concatenate(([0.0], inside, [cumulative[-1]]))
    return tuple(round(float(count)) for count in np.diff(bounds))
