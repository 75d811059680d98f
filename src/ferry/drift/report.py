"""The drift report: one entry per feature, prediction and performance drift, one decision.

``to_dict`` is the contract other tools read (the JSON keys are documented in ``docs/drift.md``);
``to_html`` writes one self-contained page for people.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.drift.histogram import Histogram
from ferry.drift.performance import PerformanceDrift


@dataclass(frozen=True)
class FeatureDrift:
    """One column: the deciding test, its statistic, p-value and threshold, and every other test.

    ``threshold`` is the effective one (for p-value tests, after the multiple-testing
    correction). ``stats`` maps each computed test to its ``{statistic, p_value?, ...}``;
    ``reasons`` says in words why the column drifted; ``note`` why it could not be tested;
    ``empty`` is true when the column had reference values but arrived with none.
    """

    name: str
    type: str
    test: str | None
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    stats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    note: str | None = None
    histogram: Histogram | None = None
    empty: bool = False

    @property
    def tested(self) -> bool:
        """False for columns that are listed but not compared (timestamps, identifiers)."""
        return self.test is not None

    @property
    def effect(self) -> float:
        """PSI, the effect size every column type has, used to rank columns."""
        psi = self.stats.get("psi", {}).get("statistic")
        return float(psi) if psi is not None else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this entry."""
        return {
            "name": self.name,
            "type": self.type,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "stats": {test: dict(values) for test, values in self.stats.items()},
            "reasons": list(self.reasons),
            "note": self.note,
            "empty": self.empty,
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
        }


@dataclass(frozen=True)
class DriftReport:
    """Reference against current: per-feature results and the decisions built on them.

    ``dataset_drift`` is true when the share of drifted features reaches ``drift_share_threshold``
    or a feature arrived with no values at all; ``drift`` is true when the data, the predictions
    or the performance drifted. ``warnings`` say why the verdict deserves less trust (too few rows).
    """

    features: tuple[FeatureDrift, ...]
    drift_share: float
    drift_share_threshold: float
    correction: str
    reference_rows: int
    current_rows: int
    prediction: tuple[FeatureDrift, ...] | None = None
    performance: PerformanceDrift | None = None
    warnings: tuple[str, ...] = ()

    @property
    def tested(self) -> tuple[FeatureDrift, ...]:
        """Features that were compared (not skipped)."""
        return tuple(feature for feature in self.features if feature.tested)

    @property
    def drifted_features(self) -> tuple[FeatureDrift, ...]:
        """Drifted features, largest effect (PSI) first."""
        drifted = [feature for feature in self.features if feature.drifted]
        return tuple(sorted(drifted, key=lambda feature: -feature.effect))

    @property
    def empty_features(self) -> tuple[str, ...]:
        """Features that had reference values and arrived with none (a broken feed)."""
        return tuple(feature.name for feature in self.features if feature.empty)

    @property
    def dataset_drift(self) -> bool:
        """Whether enough features drifted to call the data drifted, or one arrived empty."""
        share = bool(self.tested) and self.drift_share >= self.drift_share_threshold
        return share or bool(self.empty_features)

    @property
    def prediction_drift(self) -> bool:
        """Whether any model output drifted (False when predictions were not checked)."""
        return any(feature.drifted for feature in self.prediction or ())

    @property
    def drift(self) -> bool:
        """The overall decision: data, prediction or performance drift."""
        performance = self.performance is not None and self.performance.drifted
        return self.dataset_drift or self.prediction_drift or performance

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every float finite, every key documented."""
        prediction = None
        if self.prediction is not None:
            prediction = {
                "drift": self.prediction_drift,
                "features": [feature.to_dict() for feature in self.prediction],
            }
        data = {
            "drift": self.drift,
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "drift_share_threshold": self.drift_share_threshold,
            "n_features": len(self.tested),
            "n_drifted": sum(feature.drifted for feature in self.features),
            "empty_features": list(self.empty_features),
            "warnings": list(self.warnings),
            "correction": self.correction,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "features": [feature.to_dict() for feature in self.features],
            "prediction": prediction,
            "performance": None if self.performance is None else self.performance.to_dict(),
        }
        cleaned: dict[str, Any] = _finite(data)
        return cleaned

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 2) -> str:
        """The report as JSON text; also written to ``path`` when one is given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            _write_text(Path(path), text + "\n")
        return text

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write one self-contained HTML page (no network access) and return its path."""
        from ferry.drift.render import render_html

        target = Path(path)
        _write_text(target, render_html(self))
        return target


def _finite(value: Any) -> Any:
    """Replace any non-finite float by None, so the JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _write_text(path: Path, text: str) -> None:
    """Write next to the target, then rename: a reader never sees half a report."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staged.write_text(text, encoding="utf-8")
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
