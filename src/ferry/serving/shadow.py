"""Copies answered off the request path: a bounded queue that drops (and counts) when full.

A request is answered first; a copy of its rows and its answer then waits here for the other
variant (the candidate in shadow mode, the primary behind a canary), and one worker task runs
it. A full queue drops the copy rather than slowing anyone down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("ferry.serving")


@dataclass(frozen=True)
class Copy:
    """The rows of an answered request, the labels it got, and who answers the copy."""

    rows: np.ndarray
    answered: np.ndarray
    variant: str


class ShadowQueue:
    """Holds up to ``capacity`` copies; ``work`` answers them one at a time."""

    def __init__(
        self,
        capacity: int,
        work: Callable[[Copy], Awaitable[None]],
        on_drop: Callable[[], None],
    ) -> None:
        self._queue: asyncio.Queue[Copy] = asyncio.Queue(maxsize=capacity)
        self._work = work
        self._on_drop = on_drop
        self._worker: asyncio.Task[None] | None = None

    def offer(self, copy: Copy) -> bool:
        """Queue a copy; False (and counted) when the queue is full."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._drain())
        try:
            self._queue.put_nowait(copy)
        except asyncio.QueueFull:
            self._on_drop()
            return False
        return True

    async def join(self) -> None:
        """Wait until every queued copy is answered (tests, and a clean stop)."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop the worker; queued copies are given up."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _drain(self) -> None:
        while True:
            copy = await self._queue.get()
            try:
                await self._work(copy)
            except Exception:  # a copy that fails must not stop the copies after it
                log.exception("could not answer a shadow copy")
            finally:
                self._queue.task_done()


def disagreements(answered: np.ndarray, other: np.ndarray | None) -> int:
    """Rows on which two answers differ: exactly for labels, beyond 1 % for numbers (every
    row when the other answer has nothing to compare)."""
    if other is None:
        return len(answered)
    first, second = np.asarray(answered), np.asarray(other)
    if first.shape != second.shape:
        return int(first.shape[0]) if first.ndim else 1
    if first.dtype.kind == "f" or second.dtype.kind == "f":
        differ = ~np.isclose(first.astype(float), second.astype(float), rtol=0.01, atol=1e-9)
    else:
        differ = first != second
    if differ.ndim > 1:
        differ = differ.reshape(differ.shape[0], -1).any(axis=1)
    return int(np.count_nonzero(differ))
