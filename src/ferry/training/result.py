"""What a training run reports: a :class:`RunResult` when it finishes, :class:`RunFailed` when
a step fails (the run record says the same in either case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ferry.errors import FerryError


class RunFailed(FerryError):
    """A training run stopped at a step; the run record says the same."""

    def __init__(self, run_id: str, step: str, error: BaseException) -> None:
        self.run_id, self.step, self.cause = run_id, step, error
        super().__init__(f"run {run_id} failed at step {step!r}: {describe_error(error)}")


@dataclass(frozen=True)
class RunResult:
    """What a run produced and decided; ``to_dict`` is the ``ferry train --json`` contract."""

    run_id: str
    model: str
    version: str
    status: str
    decision: str
    reason: str
    metrics: dict[str, float]
    cv_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    champion_version: str | None = None
    comparison_rows: int | None = None
    excluded_rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{run_id, model, version, status, decision, reason, metrics, cv_metrics,
        champion_metrics, comparison_rows, excluded_rows}``."""
        return {
            "run_id": self.run_id,
            "model": self.model,
            "version": self.version,
            "status": self.status,
            "decision": self.decision,
            "reason": self.reason,
            "metrics": self.metrics,
            "cv_metrics": self.cv_metrics,
            "champion_metrics": self.champion_metrics,
            "comparison_rows": self.comparison_rows,
            "excluded_rows": self.excluded_rows,
        }


def describe_error(error: BaseException) -> str:
    """One line: ferry's own messages as they are, anything else with its type."""
    text = str(error).replace("\n", " ")
    return text if isinstance(error, FerryError) else f"{type(error).__name__}: {text}"
