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
    """

    __slots__ = ("queued", "requests")

    def __init__(self) -> None:
        self.requests = 0
        """Requests in the prediction handlers (the app counts them)."""
        self.queued = 0
        """Of them, those handed to a batcher and not yet answered (the batchers count them)."""


class MicroBatcher(Generic[T]):
    """Collects rows from concurrent callers, runs ``run`` once per batch, splits the result.

    ``run(rows, key) -> (per_row_outputs, shared)``: ``per_row_outputs`` is a tuple of arrays
    (or None) with one entry per row; ``shared`` (e.g. the version that answered) goes to every
    caller of the batch. ``in_flight`` is shared by the server's batchers; ``primary`` says
    whether requests not yet handed to a batcher may come to this one.
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
        self._queue: asyncio.Queue[_Pending] | None = None
        self._carry: _Pending | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferry-batch")

    async def submit(self, rows: np.ndarray, key: Hashable = None) -> tuple[tuple[Any, ...], T]:
        """Queue ``rows`` (validated against ``key``) and wait for their share of a batch."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue))
        pending = _Pending(rows, key, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        in_flight = self._in_flight
        in_flight.queued += 1
        self._queued += 1
        try:
            result: tuple[tuple[Any, ...], T] = await pending.future
        finally:
            in_flight.queued -= 1
            self._queued -= 1
        return result

    def _coming(self) -> int:
        """Requests that may still join this batcher's batches (those it holds included)."""
        in_flight = self._in_flight
        waiting = in_flight.requests - in_flight.queued if self._primary else 0
        return waiting + self._queued

    async def close(self) -> None:
        """Stop the worker; queued callers get an error rather than hanging."""
        if self._worker is not None:
            self._worker.cancel()
        waiting = [self._carry] if self._carry else []
        while self._queue is not None and not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        for pending in waiting:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = await self._collect(queue)
            await self._answer(batch)

    async def _next(self, queue: asyncio.Queue[_Pending]) -> _Pending:
        if self._carry is not None:
            pending, self._carry = self._carry, None
            return pending
        return await queue.get()

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        batch = [await self._next(queue)]
        rows = len(batch[0].rows)
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while rows < self._max_rows:
            if queue.empty():
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0 or self._coming() <= len(batch):
                    break
                try:
                    candidate = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                candidate = queue.get_nowait()
            if candidate.key != batch[0].key:
                self._carry = candidate  # another spec: it starts the next batch
                break
            batch.append(candidate)
            rows += len(candidate.rows)
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
