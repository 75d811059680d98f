"""Every test on every column: the heavy part on threads, scipy's p-values afterwards.

``measure`` does the work that grows with the data (sorting the current column, counting its
categories, the KS statistic, Wasserstein, PSI, histograms) and is safe to run on several threads
at once. ``conclude`` then runs on the calling thread: it turns statistics into p-values with
scipy, which may warn, and warning filters are process-wide, so they are not touched from threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ferry.drift.categories import AlignedCounts, count_categories
from ferry.drift.histogram import Histogram, categorical_histogram, numeric_histogram
from ferry.drift.methods.chi2 import chi2
from ferry.drift.methods.jensen_shannon import jensen_shannon
from ferry.drift.methods.ks import ks_asymptotic, ks_exact, ks_statistic, uses_exact
from ferry.drift.methods.mean_shift import mean_shift
from ferry.drift.methods.missing_rate import missing_rate
from ferry.drift.methods.outcome import Outcome
from ferry.drift.methods.psi import categorical_psi, numeric_psi
from ferry.drift.methods.unseen import out_of_range, unseen_categories
from ferry.drift.methods.wasserstein import wasserstein
from ferry.drift.parallel import map_columns
from ferry.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    Profile,
    SkippedProfile,
    has_values,
    sorted_column,
)
from ferry.drift.settings import DriftSettings
from ferry.errors import FerryError, InvalidInput

NUMERIC_STATS = ("ks", "wasserstein", "psi", "mean_shift")
CATEGORICAL_STATS = ("chi2", "psi", "jensen_shannon")


@dataclass(frozen=True)
class ColumnFindings:
    """What was found on one column: every test's outcome, or why it was skipped.

    ``empty`` is true when the reference had values but the current data has none (all missing,
    or for numbers all infinite): the feed of that column broke.
    """

    name: str
    kind: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    histogram: Histogram | None = None
    skipped: str | None = None
    empty: bool = False


@dataclass(frozen=True, eq=False)
class _Evidence:
    """The threaded part's result for one column, waiting for its p-values."""

    name: str
    profile: Profile
    rows: int
    missing: int
    outcomes: dict[str, Outcome]
    histogram: Histogram | None = None
    ks_input: float | NDArray[np.float64] | None = None
    aligned: AlignedCounts | None = None
    empty: str | None = None


def evaluate(
    profiles: Sequence[tuple[str, Profile]], frame: pd.DataFrame, settings: DriftSettings
) -> list[ColumnFindings]:
    """Run every test of every profiled column on ``frame`` (columns looked up by name)."""
    labels = {str(label): label for label in frame.columns}

    def measure_one(item: tuple[str, Profile]) -> _Evidence:
        name, profile = item
        if isinstance(profile, SkippedProfile):
            return _Evidence(name, profile, 0, 0, {})
        with _named(name):
            return measure(name, profile, frame[labels[name]], settings)

    measured = map_columns(measure_one, profiles, settings.n_jobs)
    findings = []
    for evidence in measured:
        with _named(evidence.name):
            findings.append(conclude(evidence, settings))
    return findings


@contextmanager
def _named(column: str) -> Iterator[None]:
    """A test that still fails on odd data says which column it failed on."""
    try:
        yield
    except FerryError:
        raise  # already says what is wrong, and where
    except (ValueError, ArithmeticError) as error:
        raise InvalidInput(f"column {column!r}: {error}") from error


def measure(
    name: str,
    profile: NumericProfile | CategoricalProfile,
    series: pd.Series,
    settings: DriftSettings,
) -> _Evidence:
    """The data-sized work for one column; safe to call from several threads."""
    rows = len(series)
    if isinstance(profile, CategoricalProfile):
        counts, missing = count_categories(series)
        aligned = AlignedCounts.align(profile.categories, profile.counts, counts)
        empty = _emptiness(int(profile.counts.sum()), int(aligned.current.sum()), "categorical")
        return _Evidence(name, profile, rows, missing, {}, aligned=aligned, empty=empty)
    values = sorted_column(series, name)
    missing = rows - values.size
    empty = _emptiness(profile.values.size, values.size, "numeric")
    if empty is not None:
        return _Evidence(name, profile, rows, missing, {}, empty=empty)
    exact = uses_exact(settings.ks_method, profile.values.size, values.size)
    return _Evidence(
        name,
        profile,
        rows,
        missing,
        {
            "wasserstein": wasserstein(profile, values),
            "psi": numeric_psi(profile, values),
            "mean_shift": mean_shift(profile, values),
            "out_of_range": out_of_range(profile, values),
        },
        histogram=numeric_histogram(profile, values),
        ks_input=values if exact else ks_statistic(profile, values),
    )


def conclude(evidence: _Evidence, settings: DriftSettings) -> ColumnFindings:
    """Add the p-value tests and the missing-rate change; call from one thread at a time."""
    profile = evidence.profile
    if isinstance(profile, SkippedProfile):
        return ColumnFindings(evidence.name, profile.kind, skipped=profile.reason)
    kind = "numeric" if isinstance(profile, NumericProfile) else "categorical"
    outcomes = dict(evidence.outcomes)
    if evidence.empty is not None:
        names = NUMERIC_STATS if kind == "numeric" else CATEGORICAL_STATS
        outcomes = {test: Outcome.untestable(evidence.empty) for test in names}
    elif isinstance(profile, NumericProfile):
        outcomes = {"ks": _ks(profile, evidence, settings), **outcomes}
    elif evidence.aligned is not None:
        outcomes = _categorical_outcomes(evidence.aligned)
    outcomes["missing_rate"] = missing_rate(
        profile.missing, profile.rows, evidence.missing, evidence.rows
    )
    histogram = evidence.histogram
    if evidence.aligned is not None and evidence.empty is None:
        histogram = categorical_histogram(evidence.aligned)
    empty = evidence.empty is not None and has_values(profile)
    return ColumnFindings(evidence.name, kind, outcomes, histogram, empty=empty)


def _ks(profile: NumericProfile, evidence: _Evidence, settings: DriftSettings) -> Outcome:
    """Small samples go to scipy whole (exact p-value); large ones bring their statistic."""
    if isinstance(evidence.ks_input, np.ndarray):
        return ks_exact(profile.values, evidence.ks_input, settings.ks_method)
    n_current = evidence.rows - evidence.missing
    statistic = float(evidence.ks_input or 0.0)
    return ks_asymptotic(statistic, profile.values.size, n_current, settings.ks_method)


def _categorical_outcomes(aligned: AlignedCounts) -> dict[str, Outcome]:
    return {
        "chi2": chi2(aligned),
        "psi": categorical_psi(aligned),
        "jensen_shannon": jensen_shannon(aligned),
        "unseen": unseen_categories(aligned),
    }


CURRENT_EMPTY = {
    "numeric": "not testable: the current data has no values in this column "
    "(all missing or infinite)",
    "categorical": "not testable: the current data has no values in this column (all missing)",
}


def _emptiness(reference: int, current: int, kind: str) -> str | None:
    """Why distribution tests cannot run, or None when both sides have values."""
    if reference == 0:
        return "not testable: the reference has no values in this column (all missing)"
    if current == 0:
        return CURRENT_EMPTY[kind]
    return None
