"""Where a feedback label is scored during a rollout: on the replica that answered its request.

Only the replica that answered a request remembers what its variant predicted
(:class:`~ferry.serving.outcomes.AnsweredRequests`), and a load balancer sends ``POST /feedback``
wherever it likes. A label this replica can score is scored at once; any other is handed over
through the catalog (in batches, off the request path: :mod:`ferry.serving.handover`), and the
replica that remembers its request claims it at its next tick, before it reports the window's
figures. Deleting the catalog row is the claim, so a label is never scored twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ferry.serving.handover import HandOver
from ferry.serving.outcomes import Answered, AnsweredRequests, Moments, scores

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout, Rollouts
    from ferry.serving.metrics import ServingMetrics
    from ferry.serving.rollout import Slot


class Labels:
    """Scores the labels of this replica's answers; hands the others to the replica that answered.

    ``store()`` is the catalog's rollouts (opened on first use); ``clock()`` dates a hand-over;
    ``metrics`` counts where each label went.
    """

    def __init__(
        self, store: Callable[[], Rollouts], clock: Callable[[], datetime], metrics: ServingMetrics
    ) -> None:
        self.answered = AnsweredRequests()
        self.handover = HandOver(store, clock, metrics.rollout_labels)
        self._store, self._counted = store, metrics.rollout_labels

    def label(
        self, slot: Slot | None, rollout: Rollout | None, request_id: str, label: Any
    ) -> None:
        """Score a label in the answering variant's figures, or hand it over when this replica
        did not answer its request; a label for an earlier rollout is not counted.

        ``rollout`` is the model's running rollout as this replica last read it, slot or not: a
        replica without one (it refused the candidate, or serves another alias) still hands
        the label to the replica that answered."""
        answered = self.answered.claim(request_id)
        if answered is None:
            if rollout is not None and rollout.plan.uses_labels:  # as Slot.keeps_answers
                self.handover.offer(rollout, request_id, label)
        elif slot is not None and answered.rollout == slot.rollout.id:
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

    async def close(self) -> None:
        """Write the labels still waiting to be handed over (the server stops)."""
        await self.handover.close()


def _score(slot: Slot, answered: Answered, label: Any) -> None:
    """Add one label's per-row scores to the answering variant's figures of this window."""
    outcomes = slot.figures.variants[answered.variant].outcomes
    for metric, values in scores(answered.task, answered.predictions, label).items():
        outcomes.setdefault(metric, Moments()).observe(values)
