"""How old a served version may be (``FERRY_MAX_MODEL_AGE_DAYS``) and what happens past it.

``refuse`` takes the version out of service (not ready, predictions answer 503) until a newer
one is promoted; ``alert`` keeps serving it and raises an alert. Age counts from the version's
registration (``created_at``), so a model ages while it serves: it is checked on every use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ferry.errors import InvalidInput

REFUSE = "refuse"
ALERT = "alert"
ACTIONS = (REFUSE, ALERT)


@dataclass(frozen=True)
class AgeVerdict:
    """A version past its age limit: the health status to show and the message saying why."""

    refused: bool
    age_days: float
    message: str

    @property
    def status(self) -> str:
        """``too_old`` when the version is refused, ``age_alert`` when it still serves."""
        return "too_old" if self.refused else "age_alert"


@dataclass(frozen=True)
class AgeLimit:
    """The oldest a served version may be, in days, and the action past it."""

    days: float
    action: str = ALERT

    def __post_init__(self) -> None:
        if not self.days > 0:
            raise InvalidInput(f"FERRY_MAX_MODEL_AGE_DAYS must be more than 0, got {self.days}")
        if self.action not in ACTIONS:
            raise InvalidInput(
                f"FERRY_MAX_MODEL_AGE={self.action!r}: choose one of {', '.join(ACTIONS)}"
            )

    def check(self, reference: str, created_at: str, now: datetime) -> AgeVerdict | None:
        """None while ``reference`` (registered at ``created_at``) is within the limit."""
        age = (now - datetime.fromisoformat(created_at)).total_seconds() / 86400
        if age <= self.days:
            return None
        refused = self.action == REFUSE
        consequence = (
            "not served (FERRY_MAX_MODEL_AGE=refuse): promote a newer version"
            if refused
            else "still served (FERRY_MAX_MODEL_AGE=alert): retrain or promote a newer version"
        )
        message = (
            f"{reference} is {age:.1f} days old, older than the limit of {self.days:g} days "
            f"(FERRY_MAX_MODEL_AGE_DAYS); {consequence}"
        )
        return AgeVerdict(refused, age, message)
