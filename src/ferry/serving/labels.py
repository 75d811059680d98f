"""Where a feedback label is scored during a rollout: on the replica that answered its request.

Only the replica that answered a request remembers what its variant predicted
(:class:`~ferry.serving.outcomes.AnsweredRequests`), and a load balancer sends ``POST /feedback``
wherever it likes. A label this replica can score is scored at once; any other is handed over
through the catalog, and the replica that remembers its request claims it at its next tick,
before it reports the window's figures. Deleting the catalog row is the claim, so a label is
never scored twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ferry.serving.outcomes import Answered, AnsweredRequests, Moments, scores

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollouts
    from ferry.serving.metrics import ServingMetrics
    from ferry.serving.rollout import Slot

log = logging.getLogger("ferry.serving")


class Labels:
    """Scores the labels of this replica's answers; hands the others to the replica that answered.

    ``store()`` is the catalog's rollouts (opened on first use); ``clock()`` dates a hand-over;
    ``metrics`` counts where each label went.
    """

    def __init__(
        self, store: Callable[[], Rollouts], clock: Callable[[], datetime], metrics: ServingMetrics
    ) -> None:
        self.answered = AnsweredRequests()
        self._store, self._clock, self._counted = store, clock, metrics.rollout_labels

    async def label(self, slot: Slot | None, request_id: str, label: Any) -> None:
        """Score a label in the answering variant's figures, or hand it over when this replica
        did not answer its request; a label for an earlier rollout is not counted."""
        answered = self.answered.claim(request_id)
        if slot is None:
            return
        if answered is None:
            if slot.keeps_answers:
                await self._hand_over(slot, request_id, label)
        elif answered.rollout == slot.rollout.id:
            _score(slot, answered, label)
            self._counted.labels(slot.primary.name, "scored").inc()

    async def claim(self, slot: Slot) -> None:
        """Score the labels other replicas handed over for requests this replica answered."""
        rollout = slot.rollout

        def knows(request_id: str) -> bool:  # one dict read: safe from the worker thread
            answered = self.answered.peek(request_id)
            return answered is not None and answered.rollout == rollout.id

        claimed, slot.labels_read = await asyncio.to_thread(
            self._store().claim_labels, rollout, slot.labels_read, knows
        )
        for request_id, label in claimed:
            answered = self.answered.claim(request_id)  # None: its label came here meanwhile
            if answered is not None:
                _score(slot, answered, label)
                self._counted.labels(slot.primary.name, "claimed").inc()

    async def _hand_over(self, slot: Slot, request_id: str, label: Any) -> None:
        """Leave the label in the catalog; an outage loses it for the rollout only (it is
        already in the feedback log), so the client is not told to send it again."""
        rollout, now = slot.rollout, self._clock().isoformat(timespec="microseconds")
        try:
            kept = await asyncio.to_thread(self._store().hand_over, rollout, request_id, label, now)
        except Exception:
            log.exception("rollout %d: could not hand the label of request %r to the replica "
                          "that answered it", rollout.id, request_id)  # fmt: skip
            kept = False
        self._counted.labels(slot.primary.name, "handed_over" if kept else "lost").inc()


def _score(slot: Slot, answered: Answered, label: Any) -> None:
    """Add one label's per-row scores to the answering variant's figures of this window."""
    outcomes = slot.figures.variants[answered.variant].outcomes
    for metric, values in scores(answered.task, answered.predictions, label).items():
        outcomes.setdefault(metric, Moments()).observe(values)
