"""Micro-batching: concurrent requests for one model run as one call.

Batches form by themselves: while one batch runs, new requests queue, and the next batch takes
all of them (up to ``max_batch_size`` rows). A batch waits up to ``max_wait`` for more only when
more requests could still reach it than it holds (see :class:`InFlight`), so a lone client
never waits, and neither does a rollout's candidate when its few requests are all in. Only
requests validated against the same input spec (``key``) share a batch, and when a batch fails
each of its requests is retried alone, so one bad request never fails its neighbours.

Fast models (``inline(rows)`` true: compiled ONNX, tens of microseconds a row) run small
batches on the event loop itself: handing each batch to a thread costs more than the inference,
and two threads trading the GIL add milliseconds of latency. A large batch (``LARGE_BATCH``
rows or more: a forest spends 0.35 ms and more on it) runs in the worker thread like a slow
native model's, since onnxruntime lets go of the GIL: meanwhile the event loop reads, parses
and answers the next requests on the other core (100-row requests at 32 connections queued
behind one another on one thread; see ``benchmarks/serving.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")
Run = Callable[[np.ndarray, Hashable], tuple[tuple[Any, ...], T]]
LARGE_BATCH = 64
"""Rows from which a batch is worth a thread of its own even for a fast model. Batches of
1-row requests hold one row per waiting connection (at most ``max_batch_size``, 64 by
default), so below 64 connections they keep the event loop's short path."""


def runs_on_loop(backend: str, rows: int) -> bool:
    """Whether ``rows`` for a model on ``backend`` run on the event loop: a compiled ONNX
    graph's small batches (and copies) do; large ones and slow native models go to a thread."""
    return backend == "onnx" and rows < LARGE_BATCH


@dataclass
class _Pending:
    rows: np.ndarray
    key: Hashable
    future: asyncio.Future[Any]


class InFlight:
    """The prediction requests in the server's handlers, and how many of them wait in a batcher.

    A request not yet handed to a batcher (its body is still being read and parsed) may still
    reach the batcher of the model's primary; one queued in another batcher (a rollout's
    candidate, another model) never will. So a batcher counts the requests not yet handed
    over, when it is a primary's, plus its own: a candidate's batcher, at 5 % of the traffic,
    no longer waits for the rows of the 95 % nor holds its requests (and their connections)
    while its primary's batches shrink. With one batcher the count is the server's count.

    A batch waiting for a request that then goes to another batcher is woken (``settled``)
    rather than left to its deadline: at 32 connections every other connection may be in that
    batch, waiting on it, so nothing else would arrive to wake it.
    """

    __slots__ = ("queued", "requests", "waiting")

    def __init__(self) -> None:
        self.requests = 0
        """Requests in the prediction handlers (the app counts them)."""
        self.queued = 0
        """Of them, those handed to a batcher and not yet answered (the batchers count them)."""
        self.waiting: set[asyncio.Future[None]] = set()
        """Batches waiting for requests still coming: woken when one goes elsewhere."""

    def settled(self) -> None:
        """A request reached a batcher (or left without one): waiting batches count again."""
        for waiter in self.waiting:
            if not waiter.done():
                waiter.set_result(None)


class MicroBatcher(Generic[T]):
    """Collects rows from concurrent callers, runs ``run`` once per batch, splits the result.

    ``run(rows, key) -> (per_row_outputs, shared)``: ``per_row_outputs`` is a tuple of arrays
    (or None) with one entry per row; ``shared`` (e.g. the version that answered) goes to every
    caller of the batch. ``in_flight`` is shared by the server's batchers; ``primary`` says
    whether requests not yet handed to a batcher may come to this one.

    Requests wait in a deque, and the collecting worker sleeps on one future (with a timer
    for the batch's deadline) rather than on ``asyncio.Queue.get`` under ``wait_for``, which
    made a task and a timer for every request it collected.
    """

    def __init__(
        self,
        run: Run[T],
        *,
        max_batch_size: int,
        max_wait: float,
        in_flight: InFlight,
        primary: bool = True,
        on_batch: Callable[[int], None] | None = None,
        inline: Callable[[int], bool] = lambda rows: False,
    ) -> None:
        self._run = run
        self._inline = inline
        self._max_rows = max_batch_size
        self._max_wait = max_wait
        self._in_flight = in_flight
        self._primary = primary
        self._queued = 0
        self._on_batch = on_batch
        self._pending: deque[_Pending] = deque()
        self._wake: asyncio.Future[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferry-batch")

    async def submit(self, rows: np.ndarray, key: Hashable = None) -> tuple[tuple[Any, ...], T]:
        """Queue ``rows`` (validated against ``key``) and wait for their share of a batch."""
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._worker = loop.create_task(self._work())
        pending = _Pending(rows, key, loop.create_future())
        self._pending.append(pending)
        in_flight = self._in_flight
        in_flight.queued += 1
        self._queued += 1
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        if in_flight.waiting:
            in_flight.settled()
        try:
            result: tuple[tuple[Any, ...], T] = await pending.future
        finally:
            in_flight.queued -= 1
            self._queued -= 1
        return result

    def copy(self, rows: np.ndarray, key: Hashable, limit: int) -> asyncio.Future[Any] | None:
        """Queue ``rows`` as a copy that no request waits on (a canary's rows for its primary
        to answer too): they join the next batch, which runs anyway, instead of a session run
        of their own. None (dropped) when ``limit`` requests already wait here."""
        if self._worker is None or len(self._pending) >= limit:
            return None
        pending = _Pending(rows, key, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        self._queued += 1
        pending.future.add_done_callback(self._copied)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return pending.future

    def _copied(self, _future: asyncio.Future[Any]) -> None:
        self._queued -= 1

    def _coming(self) -> int:
        """Requests that may still join this batcher's batches (those it holds included)."""
        in_flight = self._in_flight
        waiting = in_flight.requests - in_flight.queued if self._primary else 0
        return waiting + self._queued

    async def close(self) -> None:
        """Stop the worker; queued callers get an error rather than hanging."""
        if self._worker is not None:
            self._worker.cancel()
        while self._pending:
            pending = self._pending.popleft()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self) -> None:
        while True:
            batch = await self._collect()
            await self._answer(batch)

    async def _sleep(self, deadline: float | None) -> None:
        """Wait for the next request, or ``deadline`` (loop time), or (for a batch waiting on
        requests still coming) one of them going to another batcher."""
        loop = asyncio.get_running_loop()
        wake = self._wake = loop.create_future()
        timer = None if deadline is None else loop.call_at(deadline, _wake, wake)
        waiting = self._in_flight.waiting
        if deadline is not None:
            waiting.add(wake)
        try:
            await wake
        finally:
            self._wake = None
            waiting.discard(wake)
            if timer is not None:
                timer.cancel()

    async def _collect(self) -> list[_Pending]:
        pending = self._pending
        while not pending:
            await self._sleep(None)
        first = pending.popleft()
        batch, rows = [first], len(first.rows)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while rows < self._max_rows:
            if not pending:
                if loop.time() >= deadline or self._coming() <= len(batch):
                    break
                await self._sleep(deadline)
                continue
            if pending[0].key != first.key:
                break  # another spec: it starts the next batch
            joining = pending.popleft()
            batch.append(joining)
            rows += len(joining.rows)
        return batch

    async def _answer(self, batch: list[_Pending]) -> None:
        try:
            rows = batch[0].rows if len(batch) == 1 else np.concatenate([p.rows for p in batch])
            if self._on_batch is not None:
                self._on_batch(len(rows))
            if self._inline(len(rows)):
                outputs, shared = self._run(rows, batch[0].key)
            else:
                outputs, shared = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._run, rows, batch[0].key
                )
        except Exception as error:
            if len(batch) > 1:
                for pending in batch:  # find the culprit: each request on its own
                    await self._answer([pending])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        start = 0
        for pending in batch:
            stop = start + len(pending.rows)
            share = tuple(_rows(out, start, stop) for out in outputs)
            if not pending.future.done():
                pending.future.set_result((share, shared))
            start = stop


def _rows(output: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of one output: an array, a mapping of arrays (by name), or None."""
    if output is None:
        return None
    if isinstance(output, Mapping):
        return {name: value[start:stop] for name, value in output.items()}
    return output[start:stop]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
