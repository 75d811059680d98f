"""Alerts: always to the log, and to a webhook (Slack-compatible JSON) when one is configured.

A webhook that is down must never stop the monitor: each POST has a timeout, transient failures
(connection errors, timeouts, 429 and 5xx answers) are retried with exponential backoff, and a
delivery that still fails is logged and reported as ``False``, not raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ferry.errors import InvalidInput

DRIFT_DETECTED = "drift_detected"
RUN_FAILED = "run_failed"
CANDIDATE_REJECTED = "candidate_rejected"
MODEL_TOO_OLD = "model_too_old"
LOW_CONFIDENCE = "low_confidence"
KINDS = (DRIFT_DETECTED, RUN_FAILED, CANDIDATE_REJECTED, MODEL_TOO_OLD, LOW_CONFIDENCE)

logger = logging.getLogger("ferry.alerts")


@dataclass(frozen=True)
class Alert:
    """Something a person should look at."""

    kind: str
    model: str
    message: str
    at: str
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The webhook body: Slack reads ``text``; other receivers get the structured fields."""
        return {
            "text": f"[ferry] {self.model}: {self.message}",
            "kind": self.kind,
            "model": self.model,
            "at": self.at,
            "details": self.details,
        }


class Alerter:
    """Sends alerts to the log and to ``webhook`` (skipped when empty)."""

    def __init__(
        self,
        webhook: str = "",
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise InvalidInput(
                f"alerts: timeout={timeout} must be positive, retries={retries} and "
                f"backoff={backoff} not negative"
            )
        self.webhook = webhook
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def send(self, alert: Alert) -> bool:
        """Log ``alert`` and deliver it; True when delivered (or when there is no webhook)."""
        logger.warning("alert %s for %s: %s", alert.kind, alert.model, alert.message)
        if not self.webhook:
            return True
        return self._post(alert.payload())

    def _post(self, body: dict[str, Any]) -> bool:
        import httpx

        attempts = self.retries + 1
        problem = ""
        with httpx.Client(timeout=self.timeout) as client:
            for attempt in range(attempts):
                if attempt:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    response = client.post(self.webhook, json=body)
                except httpx.TransportError as error:
                    problem = f"{type(error).__name__}: {error}"
                    continue
                if response.is_success:
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break
        logger.error("webhook %s did not take the alert: %s", self.webhook, problem)
        return False
