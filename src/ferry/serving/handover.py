"""Feedback labels on their way to the catalog, for the replica that answered their request.

``POST /feedback`` must not wait for a catalog write, and at a few hundred labels a second a
write per label is a transaction per label. So a label to hand over waits here, in a bounded
queue, and one writer task drains it: each pass lingers a moment, then writes everything
waiting, one transaction per rollout (:meth:`~ferry.registry.rollouts.Rollouts.hand_over`). The busier the replica, the
more labels each transaction carries; a label waits no longer than the write before it.

A label that cannot be handed over is counted ``lost`` (it is still in the feedback log): the
queue was full, the catalog could not be written, or its rollout had ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from prometheus_client import Counter

    from ferry.registry.rollouts import Rollout, Rollouts

log = logging.getLogger("ferry.serving")
CAPACITY = 10_000
"""Labels waiting for the catalog before new ones are lost (and counted)."""
LINGER = 0.05
"""Seconds a pass waits, after its first label, for others to join it. Without it a pass took
the one or two labels that had come while the last one wrote: 0.6 transactions a label at 300
labels/s. The replica that answered claims labels at its next tick (a poll interval, a second
by default), so the wait delays no judgement."""


class Handed(NamedTuple):
    """One label waiting to be handed over: its rollout, the request it is for, and itself."""

    rollout: Rollout
    request_id: str
    label: Any


class HandOver:
    """Holds up to ``capacity`` labels; one writer task writes them in batches.

    ``store()`` is the catalog's rollouts; ``clock()`` dates each batch; ``counted`` is
    ``ferry_rollout_labels_total``, by model and outcome (``handed_over`` or ``lost``).
    """

    def __init__(
        self,
        store: Callable[[], Rollouts],
        clock: Callable[[], datetime],
        counted: Counter,
        capacity: int = CAPACITY,
    ) -> None:
        self._queue: asyncio.Queue[Handed] = asyncio.Queue(maxsize=capacity)
        self._store, self._clock, self._counted = store, clock, counted
        self._writer: asyncio.Task[None] | None = None
        self._full = False
        """The queue overflowed since the writer last took from it: logged once per burst."""

    def offer(self, rollout: Rollout, request_id: str, label: Any) -> None:
        """Queue a label for the writer; counted lost when the queue is full."""
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        try:
            self._queue.put_nowait(Handed(rollout, request_id, label))
        except asyncio.QueueFull:
            self._counted.labels(rollout.model, "lost").inc()
            if not self._full:
                self._full = True
                log.error("rollout %d: %d feedback labels already wait for the catalog; labels "
                          "that other replicas answered are lost until it catches up",
                          rollout.id, self._queue.maxsize)  # fmt: skip

    async def join(self) -> None:
        """Wait until every queued label is written (or counted lost)."""
        await self._queue.join()

    async def close(self) -> None:
        """Write what waits (the server stops), then stop the writer."""
        if self._writer is None:
            return
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    async def _drain(self) -> None:
        while True:
            waiting = [await self._queue.get()]
            await asyncio.sleep(LINGER)
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            self._full = False
            try:
                for rollout, labels in _by_rollout(waiting):
                    await self._write(rollout, labels)
            finally:
                for _ in waiting:
                    self._queue.task_done()

    async def _write(self, rollout: Rollout, labels: list[tuple[str, Any]]) -> None:
        """Hand one rollout's labels over in one transaction; a failure loses them for the
        rollout only, and is logged once for the batch."""
        now = self._clock().isoformat(timespec="microseconds")
        try:
            kept = await asyncio.to_thread(self._store().hand_over, rollout, labels, now)
        except Exception:
            log.exception("rollout %d: could not hand %d feedback labels to the replicas that "
                          "answered their requests", rollout.id, len(labels))  # fmt: skip
            kept = False
        self._counted.labels(rollout.model, "handed_over" if kept else "lost").inc(len(labels))


def _by_rollout(waiting: list[Handed]) -> list[tuple[Rollout, list[tuple[str, Any]]]]:
    """The waiting labels grouped by rollout, each group in the order the labels came."""
    groups: dict[int, tuple[Rollout, list[tuple[str, Any]]]] = {}
    for handed in waiting:
        group = groups.setdefault(handed.rollout.id, (handed.rollout, []))
        group[1].append((handed.request_id, handed.label))
    return list(groups.values())
