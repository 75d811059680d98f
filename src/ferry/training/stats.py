"""Monitoring figures for one model, from its run history and monitor checks.

The seed's list: retrain success rate, drift frequency, the metric trend, training time and data
volume. Everything is computed from the catalog's records, so the figures cover every run
however it was started (CLI, schedule, server).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean
from typing import Any

from ferry.training.policy import DECISIONS
from ferry.training.runs import FAILED, SUCCEEDED, CheckRecord, RunRecord


@dataclass(frozen=True)
class Summary:
    """Last, mean, minimum and maximum of a series (None when it is empty)."""

    last: float | None
    mean: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        """Summarise ``values`` given oldest first."""
        if not values:
            return cls(None, None, None, None)
        return cls(values[-1], fmean(values), min(values), max(values))

    def to_dict(self) -> dict[str, float | None]:
        """The JSON form."""
        return {"last": self.last, "mean": self.mean, "min": self.min, "max": self.max}


def model_stats(model: str, runs: list[RunRecord], checks: list[CheckRecord]) -> dict[str, Any]:
    """The monitoring figures; ``runs`` and ``checks`` in any order."""
    ordered = sorted(runs, key=lambda run: run.created_at)
    finished = [run for run in ordered if run.status in (SUCCEEDED, FAILED)]
    succeeded = [run for run in finished if run.status == SUCCEEDED]
    tested = [check for check in checks if check.drift is not None]
    drifted = [check for check in tested if check.drift or check.performance_drift]
    decisions = [run.decision for run in succeeded]
    return {
        "model": model,
        "runs": len(ordered),
        "succeeded": len(succeeded),
        "failed": len(finished) - len(succeeded),
        "retrain_success_rate": _rate(len(succeeded), len(finished)),
        "decisions": {name: decisions.count(name) for name in DECISIONS},
        "checks": len(checks),
        "checks_with_drift": len(drifted),
        "drift_frequency": _rate(len(drifted), len(tested)),
        "last_check": max((check.checked_at for check in checks), default=None),
        "metric_trend": _trend(succeeded),
        "training_seconds": Summary.of(
            [run.training_seconds for run in succeeded if run.training_seconds is not None]
        ).to_dict(),
        "data_volume": Summary.of(
            [float(run.rows) for run in ordered if run.rows is not None]
        ).to_dict(),
    }


def _trend(runs: list[RunRecord]) -> list[dict[str, Any]]:
    """The primary metric of each successful run, oldest first; beside the champion's value,
    the candidate's on the same rows (the champion is scored only on rows neither saw)."""
    trend = []
    for run in runs:
        metric = run.primary_metric
        if metric is None or not run.metrics or metric not in run.metrics:
            continue
        champion = (run.champion_metrics or {}).get(metric)
        trend.append(
            {
                "run_id": run.id,
                "at": run.created_at,
                "version": run.version,
                "metric": metric,
                "value": run.metrics[metric],
                "champion_value": champion,
                "compared_value": (run.comparison_metrics or {}).get(metric),
                "decision": run.decision,
            }
        )
    return trend


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole
