"""A fitted detector on disk: one ``.npz`` file, read back without pickle.

The archive holds a JSON header (format, settings, column kinds, category counts) and, per
numeric column, its sorted reference values. Repeated values are stored once with a count, so a
discrete column costs a few bytes, a continuous one 8 bytes per value. Derived statistics (bins,
grid, mean, std) are not stored: ``load`` recomputes them with the code ``fit`` used, so a loaded
detector gives bit-identical reports.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ferry.drift.bins import distinct_sorted
from ferry.drift.profile import CategoricalProfile, NumericProfile, Profile, SkippedProfile
from ferry.drift.settings import DriftSettings
from ferry.errors import InvalidInput

if TYPE_CHECKING:
    from ferry.drift.detector import DriftDetector

FORMAT = "ferry.drift.profile/1"
HEADER = "header"


def save_detector(detector: DriftDetector, path: Path) -> Path:
    """Write ``detector`` to ``path`` atomically (staged beside it, then renamed)."""
    arrays: dict[str, NDArray[Any]] = {}
    header = {
        "format": FORMAT,
        "params": _params(detector),
        "reference_rows": detector.reference_rows_,
        "performance_baseline": detector.performance_baseline_,
        "features": _entries(detector.profiles_, "feature", arrays),
        "predictions": None,
    }
    if detector.prediction_profiles_ is not None:
        header["predictions"] = _entries(detector.prediction_profiles_, "prediction", arrays)
    arrays[HEADER] = np.array(json.dumps(header))
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with staged.open("wb") as stream:
            np.savez(stream, allow_pickle=False, **arrays)
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return path


def load_detector(
    cls: type[DriftDetector],
    source: str | os.PathLike[str] | bytes | IO[bytes],
    overrides: Mapping[str, Any] | None = None,
) -> DriftDetector:
    """Read a file written by :func:`save_detector` into a fitted ``cls``, with ``overrides``
    replacing saved settings that do not change what was learned (see ``FITTED_PARAMS``)."""
    stream: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with np.load(stream, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise InvalidInput(
            f"cannot read a drift profile from {_describe(source)}: {error}"
        ) from error
    try:
        header = json.loads(str(arrays.pop(HEADER)))
    except (KeyError, ValueError) as error:
        raise InvalidInput(f"{_describe(source)} is not a ferry drift profile") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidInput(
            f"{_describe(source)} is not a ferry drift profile in format {FORMAT} "
            f"(found {header.get('format') if isinstance(header, dict) else None!r})"
        )
    detector = cls(**header["params"])
    detector.set_params(**_overrides(overrides or {}))
    settings = DriftSettings.from_params(detector.get_params())
    detector.settings_ = settings
    detector.reference_rows_ = int(header["reference_rows"])
    ignored = set(settings.ignore)
    profiles = _profiles(header["features"], arrays, settings)
    detector.profiles_ = [(name, profile) for name, profile in profiles if name not in ignored]
    detector.feature_names_in_ = [name for name, _ in detector.profiles_]
    detector.prediction_profiles_ = None
    if header["predictions"] is not None:
        detector.prediction_profiles_ = _profiles(header["predictions"], arrays, settings)
    detector.performance_baseline_ = header["performance_baseline"]
    return detector


def _overrides(overrides: Mapping[str, Any]) -> Mapping[str, Any]:
    from ferry.drift.detector import FITTED_PARAMS

    fitted = sorted(set(overrides) & FITTED_PARAMS)
    if fitted:
        raise InvalidInput(
            f"{fitted} were learned when the reference was fitted and cannot change on a "
            "loaded profile: fit the detector again"
        )
    return overrides


def _params(detector: DriftDetector) -> dict[str, Any]:
    """The settings the detector was fitted with, as constructor arguments in JSON."""
    settings = detector.settings_
    return {
        "numeric_test": settings.numeric_test,
        "categorical_test": settings.categorical_test,
        "thresholds": dict(settings.thresholds),
        "correction": settings.correction,
        "drift_share": settings.drift_share,
        "categorical": list(settings.categorical),
        "numeric": list(settings.numeric),
        "ignore": list(settings.ignore),
        "psi_bins": settings.psi_bins,
        "low_cardinality": settings.low_cardinality,
        "max_categories": settings.max_categories,
        "ks_method": settings.ks_method,
        "n_jobs": detector.n_jobs,
        "performance_metric": settings.performance_metric,
        "performance_baseline": settings.performance_baseline,
        "performance_threshold": settings.performance_threshold,
    }


def _entries(
    profiles: list[tuple[str, Profile]], prefix: str, arrays: dict[str, NDArray[Any]]
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for index, (name, profile) in enumerate(profiles):
        if isinstance(profile, SkippedProfile):
            entries.append(
                {"name": name, "profile": "skipped", "kind": profile.kind, "reason": profile.reason}
            )
        elif isinstance(profile, CategoricalProfile):
            entries.append(
                {
                    "name": name,
                    "profile": "categorical",
                    "rows": profile.rows,
                    "counts": dict(zip(profile.categories, profile.counts.tolist(), strict=True)),
                }
            )
        else:
            key = f"{prefix}_{index}"
            _store_values(profile.values, key, arrays)
            entry = {"name": name, "profile": "numeric", "rows": profile.rows, "key": key}
            if profile.missing != profile.rows - profile.values.size:
                # values are a sample standing for more rows (ferry.spark's sketches): keep
                # the true counts and moments, which the sample cannot give back
                entry["sampled"] = {"missing": profile.missing, "mean": profile.mean,
                                    "std": profile.std}  # fmt: skip
            entries.append(entry)
    return entries


def _store_values(values: NDArray[np.float64], key: str, arrays: dict[str, NDArray[Any]]) -> None:
    """Sorted values, or distinct values and their counts when that is smaller."""
    distinct = distinct_sorted(values)
    if distinct.size * 2 < values.size:
        starts = np.searchsorted(values, distinct, side="left")
        arrays[f"{key}_counts"] = np.diff(np.append(starts, values.size)).astype(np.int64)
        arrays[f"{key}_values"] = distinct
    else:
        arrays[f"{key}_values"] = values


def _profiles(
    entries: list[dict[str, Any]], arrays: dict[str, NDArray[Any]], settings: DriftSettings
) -> list[tuple[str, Profile]]:
    profiles: list[tuple[str, Profile]] = []
    for entry in entries:
        name = str(entry["name"])
        if entry["profile"] == "skipped":
            profiles.append((name, SkippedProfile(entry["kind"], entry["reason"])))
        elif entry["profile"] == "categorical":
            counts = {str(key): int(value) for key, value in entry["counts"].items()}
            profiles.append((name, CategoricalProfile.from_counts(counts, int(entry["rows"]))))
        else:
            values = arrays[f"{entry['key']}_values"].astype(np.float64)
            counts_key = f"{entry['key']}_counts"
            if counts_key in arrays:
                values = np.repeat(values, arrays[counts_key])
            numeric = NumericProfile.from_sorted(values, int(entry["rows"]), settings.psi_bins)
            sampled = entry.get("sampled")
            if sampled is not None:
                numeric = replace(
                    numeric, missing=int(sampled["missing"]), mean=sampled["mean"],
                    std=sampled["std"],
                )  # fmt: skip
            profiles.append((name, numeric))
    return profiles


def _describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return repr(str(source))
    return "the given bytes"
