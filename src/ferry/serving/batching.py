"""Micro-batching: concurrent requests for one model run as one call.

Batches form by themselves: while one batch runs, new requests queue, and the next batch takes
all of them (up to ``max_batch_size`` rows). A batch waits up to ``max_wait`` for more only when
more requests are already in flight than it holds, so a lone client never waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class _Pending:
    rows: np.ndarray
    future: asyncio.Future[Any]


class MicroBatcher(Generic[T]):
    """Collects rows from concurrent callers, runs ``run`` once per batch, splits the result.

    ``run(rows) -> (per_row_outputs, shared)``: ``per_row_outputs`` is a tuple of arrays (or
    None) with one entry per row; ``shared`` (e.g. the version that answered) goes to every caller.
    """

    def __init__(
        self,
        run: Callable[[np.ndarray], tuple[tuple[np.ndarray | None, ...], T]],
        *,
        max_batch_size: int,
        max_wait: float,
        in_flight: Callable[[], int],
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._max_rows = max_batch_size
        self._max_wait = max_wait
        self._in_flight = in_flight
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferry-batch")

    async def submit(self, rows: np.ndarray) -> tuple[tuple[np.ndarray | None, ...], T]:
        """Queue ``rows`` and wait for their share of a batch's outputs."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue))
        pending = _Pending(rows, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        result: tuple[tuple[np.ndarray | None, ...], T] = await pending.future
        return result

    async def close(self) -> None:
        """Stop the worker; queued callers get an error rather than hanging."""
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = await self._collect(queue)
            await self._answer(batch)

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        batch = [await queue.get()]
        rows = len(batch[0].rows)
        deadline = asyncio.get_running_loop().time() + self._max_wait
        while rows < self._max_rows:
            if not queue.empty():
                batch.append(queue.get_nowait())
                rows += len(batch[-1].rows)
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._in_flight() <= len(batch):
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
                rows += len(batch[-1].rows)
            except TimeoutError:
                break
        return batch

    async def _answer(self, batch: list[_Pending]) -> None:
        rows = batch[0].rows if len(batch) == 1 else np.concatenate([p.rows for p in batch])
        if self._on_batch is not None:
            self._on_batch(len(rows))
        try:
            outputs, shared = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, rows
            )
        except Exception as error:
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        start = 0
        for pending in batch:
            stop = start + len(pending.rows)
            share = tuple(None if out is None else out[start:stop] for out in outputs)
            if not pending.future.done():
                pending.future.set_result((share, shared))
            start = stop
