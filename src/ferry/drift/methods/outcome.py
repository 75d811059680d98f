"""What one statistical test found on one column."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """A statistic, its p-value when the test has one, and details worth showing.

    ``statistic`` is ``None`` when the test could not run; ``note`` then says why. Values are
    always finite, so a report never carries NaN into a decision or into JSON.

    A p-value may be a fast approximation: ``p_range`` then holds the exact value, and ``exact``
    computes it, for the decision to call when the range straddles a threshold.
    """

    statistic: float | None
    p_value: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None
    p_range: tuple[float, float] | None = field(default=None, compare=False, repr=False)
    exact: Callable[[], Outcome] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("statistic", "p_value"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")

    @classmethod
    def untestable(cls, reason: str, **details: Any) -> Outcome:
        """An outcome without a statistic, saying why."""
        return cls(statistic=None, details=details, note=reason)

    @property
    def testable(self) -> bool:
        """Whether the test produced a statistic."""
        return self.statistic is not None

    def to_dict(self) -> dict[str, Any]:
        """``{statistic, p_value?, ...details, note?}`` for the report."""
        data: dict[str, Any] = {"statistic": self.statistic}
        if self.p_value is not None:
            data["p_value"] = self.p_value
        data.update(self.details)
        if self.note is not None:
            data["note"] = self.note
        return data
