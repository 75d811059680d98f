"""The champion's drift reference, read with today's ``[drift]`` settings.

A version's profile (``drift_profile.npz``) was fitted when it was trained; the pipeline file
may have changed since. Every setting that decides (tests, thresholds, correction, share,
ignored columns) is applied to the stored profile at each check. Column types were learned at
fit, so a file that now types columns otherwise gets a note until the next training run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferry.drift import PROFILE_FILENAME, DriftDetector
from ferry.drift.detector import FITTED_PARAMS
from ferry.errors import InvalidInput, NotFound
from ferry.registry.registry import ModelVersion, Registry
from ferry.training.sections import DriftSection

_COLUMN_TYPES = ("categorical", "numeric", "low_cardinality", "max_categories")


@dataclass(frozen=True)
class Reference:
    """A loaded profile, and notes on settings it could not take."""

    detector: DriftDetector
    notes: tuple[str, ...]


def champion_reference(
    registry: Registry, champion: ModelVersion, drift: DriftSection
) -> Reference:
    """``champion``'s profile with the deciding settings of ``drift`` applied."""
    try:
        profile = registry.read_artifact(champion.reference, PROFILE_FILENAME)
    except NotFound:
        raise InvalidInput(
            f"the champion {champion.reference} has no drift reference profile "
            "(it was not trained by `ferry train`): train one with `ferry train PIPELINE`"
        ) from None
    deciding = {
        name: value for name, value in drift.detector_params().items() if name not in FITTED_PARAMS
    }
    detector = DriftDetector.load(profile, **deciding)
    return Reference(detector, _stale(detector, champion, drift))


def input_columns(champion: ModelVersion) -> list[str]:
    """The champion's named input columns (the monitor compares named features only)."""
    schema = champion.metadata["input_schema"]
    if schema.get("type") != "dataframe":
        raise InvalidInput(
            f"{champion.reference} takes arrays, not named columns: the monitor needs "
            "named features to compare"
        )
    return [column["name"] for column in schema["columns"]]


def _stale(detector: DriftDetector, champion: ModelVersion, drift: DriftSection) -> tuple[str, ...]:
    """Notes on column settings the profile fixed at fit and the file now sets otherwise."""
    fitted = detector.get_params()
    stale = [
        name for name in _COLUMN_TYPES if _normal(getattr(drift, name)) != _normal(fitted[name])
    ]
    unignored = [
        column
        for column in input_columns(champion)
        if column not in detector.feature_names_in_ and column not in drift.ignore
    ]
    notes = []
    if stale:
        notes.append(
            f"drift.{', drift.'.join(stale)} changed since {champion.reference} was trained: "
            "its profile keeps the old column types until the next training run"
        )
    if unignored:
        notes.append(
            f"{unignored[:10]} were ignored when {champion.reference} was trained: they are "
            "compared from the next training run"
        )
    return tuple(notes)


def _normal(value: object) -> object:
    """Lists compare as sorted lists (None and [] alike); numbers as they are."""
    if value is None or isinstance(value, list | tuple):
        return sorted(value or [])
    return value
