"""Ground truth for earlier predictions (``POST /feedback``): which model answered a recent
request id, and the label written durably to the prediction log (and counted by an A/B test)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ferry.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ferry.serving.capture import PredictionLog
    from ferry.serving.live import LiveModel
    from ferry.serving.rollout import RolloutLoop

RECENT = 100_000
"""How many recent request ids are remembered, so that feedback can name only the request."""
FORGET = 10_000
"""How many of the oldest are forgotten at once when there are more."""


class Feedback:
    """Recent request ids → model, and the labels filed against them."""

    def __init__(
        self,
        capture: PredictionLog,
        model: Callable[[str], LiveModel],
        rollouts: RolloutLoop | None,
    ) -> None:
        """File labels in ``capture`` under the model ``model`` finds for a name; an A/B test in
        ``rollouts`` counts them too."""
        self.capture = capture
        self.model = model
        self.rollouts = rollouts
        self._recent: dict[str, str] = {}

    def remember(self, request_id: str, model: str) -> None:
        """Note which model answered ``request_id`` (called once per prediction)."""
        self._recent[request_id] = model
        if len(self._recent) > RECENT:
            for key in list(self._recent)[:FORGET]:
                del self._recent[key]

    async def record(self, request_id: str, label: Any, model: str | None) -> str:
        """Record a ground-truth label (a scalar) durably; returns the model it was filed under.

        Raises :class:`StorageUnavailable` when the label could not be written.
        """
        if not isinstance(label, str | int | float | bool) or (
            model is not None and not isinstance(model, str)
        ):
            raise InvalidInput("'label' must be a string, number or boolean and 'model' a name")
        name = model or self._recent.get(request_id)
        if name is None:
            raise NotFound(
                f"unknown request_id {request_id!r} on this replica: pass 'model' with the label "
                "(behind a load balancer, another replica may have answered it)"
            )
        name = self.model(name).name  # labels are filed under the registry's model name
        durable = self.capture.feedback(name, request_id, label)
        await asyncio.to_thread(self.capture.write_feedback)
        await asyncio.wrap_future(durable)
        if self.rollouts is not None:  # an A/B test counts the label for the variant that answered
            self.rollouts.labelled(name, request_id, label)  # a hand-over is not waited for
        return name
