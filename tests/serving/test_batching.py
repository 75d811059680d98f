"""The batch collector, driven directly: batches form under load and never wait alone."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from ferry.serving.batching import LARGE_BATCH, InFlight, MicroBatcher

pytestmark = pytest.mark.anyio


def doubling(calls: list[int], gate: threading.Event | None = None):
    def run(rows: np.ndarray, key=None):
        if gate is not None:
            gate.wait(5)
        calls.append(len(rows))
        return (rows[:, 0] * 2, None), "v1"

    return run


def handlers(requests: int) -> InFlight:
    """The server's count with ``requests`` in the prediction handlers."""
    in_flight = InFlight()
    in_flight.requests = requests
    return in_flight


async def test_a_lone_request_runs_at_once_without_waiting():
    calls: list[int] = []
    batcher = MicroBatcher(
        doubling(calls), max_batch_size=64, max_wait=3600.0, in_flight=handlers(1)
    )
    (values, none), shared = await asyncio.wait_for(batcher.submit(np.array([[1.0], [2.0]])), 5)
    assert values.tolist() == [2.0, 4.0] and none is None and shared == "v1"
    assert calls == [2]
    await batcher.close()


async def test_requests_queued_while_a_batch_runs_form_the_next_batch():
    calls: list[int] = []
    gate = threading.Event()
    batcher = MicroBatcher(
        doubling(calls, gate), max_batch_size=64, max_wait=0.0, in_flight=InFlight()
    )
    first = asyncio.ensure_future(batcher.submit(np.array([[0.0]])))
    await asyncio.sleep(0)  # let the worker take the first request and block in the model
    queued = [asyncio.ensure_future(batcher.submit(np.array([[float(i)]]))) for i in range(1, 6)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(first, *queued), 5)
    assert [r[0][0].tolist() for r in results] == [[0.0], [2.0], [4.0], [6.0], [8.0], [10.0]]
    assert calls == [1, 5]
    await batcher.close()


async def test_a_fast_models_large_batch_runs_in_the_thread_while_the_loop_goes_on():
    threads: list[str] = []
    gate = threading.Event()

    def run(rows: np.ndarray, key=None):
        threads.append(threading.current_thread().name)
        if len(rows) >= LARGE_BATCH:
            gate.wait(5)
        return (rows[:, 0] * 2, None), "v1"

    batcher = MicroBatcher(
        run, max_batch_size=64, max_wait=0.0, in_flight=InFlight(),
        inline=lambda rows: rows < LARGE_BATCH,
    )  # fmt: skip
    (small, _none), _ = await asyncio.wait_for(batcher.submit(np.ones((1, 1))), 5)
    large = asyncio.ensure_future(batcher.submit(np.ones((100, 1))))
    await asyncio.sleep(0.05)  # the loop runs while the large batch is held in the model
    assert not large.done()
    gate.set()
    (doubled, _none), _ = await asyncio.wait_for(large, 5)
    assert small.tolist() == [2.0] and doubled.tolist() == [2.0] * 100
    assert threads[0] == threading.current_thread().name  # the event loop's own thread
    assert threads[1].startswith("ferry-batch")
    await batcher.close()


async def test_batches_respect_the_row_limit():
    calls: list[int] = []
    gate = threading.Event()
    batcher = MicroBatcher(
        doubling(calls, gate), max_batch_size=4, max_wait=0.0, in_flight=InFlight()
    )
    first = asyncio.ensure_future(batcher.submit(np.zeros((1, 1))))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batcher.submit(np.zeros((3, 1)))) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, *rest), 5)
    assert calls[0] == 1 and all(size <= 6 for size in calls[1:]) and sum(calls) == 10
    await batcher.close()


async def test_a_failing_model_fails_every_request_of_its_batch():
    def broken(rows: np.ndarray, key=None):
        raise ValueError("model exploded")

    batcher = MicroBatcher(broken, max_batch_size=8, max_wait=0.0, in_flight=InFlight())
    with pytest.raises(ValueError, match="model exploded"):
        await asyncio.wait_for(batcher.submit(np.zeros((1, 1))), 5)
    await batcher.close()


async def test_requests_for_different_specs_never_share_a_batch():
    calls: list[tuple[int, str]] = []
    gate = threading.Event()

    def run(rows: np.ndarray, key=None):
        gate.wait(5)
        calls.append((rows.shape[1], key))
        return (rows[:, 0],), key

    batcher = MicroBatcher(run, max_batch_size=64, max_wait=0.0, in_flight=InFlight())
    first = asyncio.ensure_future(batcher.submit(np.ones((1, 2)), "old"))
    await asyncio.sleep(0)
    mixed = [
        asyncio.ensure_future(batcher.submit(np.ones((1, 2)), "old")),
        asyncio.ensure_future(batcher.submit(np.ones((1, 3)), "new")),
        asyncio.ensure_future(batcher.submit(np.ones((1, 3)), "new")),
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(first, *mixed), 5)
    assert [shared for _, shared in results] == ["old", "old", "new", "new"]
    assert calls == [(2, "old"), (2, "old"), (3, "new")]
    await batcher.close()


async def test_one_bad_request_does_not_fail_its_batch_neighbours():
    gate = threading.Event()

    def picky(rows: np.ndarray, key=None):
        gate.wait(5)
        if (rows < 0).any():
            raise ValueError("negative input")
        return (rows[:, 0] * 2,), "v1"

    batcher = MicroBatcher(picky, max_batch_size=64, max_wait=0.0, in_flight=InFlight())
    first = asyncio.ensure_future(batcher.submit(np.array([[1.0]])))
    await asyncio.sleep(0)
    good = asyncio.ensure_future(batcher.submit(np.array([[2.0]])))
    bad = asyncio.ensure_future(batcher.submit(np.array([[-1.0]])))
    await asyncio.sleep(0)
    gate.set()
    assert (await asyncio.wait_for(first, 5))[0][0].tolist() == [2.0]
    assert (await asyncio.wait_for(good, 5))[0][0].tolist() == [4.0]
    with pytest.raises(ValueError, match="negative input"):
        await asyncio.wait_for(bad, 5)
    await batcher.close()


async def test_a_primary_waits_for_requests_still_being_parsed():
    calls: list[int] = []
    batcher = MicroBatcher(doubling(calls), max_batch_size=64, max_wait=0.2, in_flight=handlers(2))
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(batcher.submit(np.zeros((1, 1))), 5)
    assert asyncio.get_running_loop().time() - started >= 0.2  # the other one might have come
    assert calls == [1]
    await batcher.close()


async def test_a_candidate_does_not_wait_for_requests_headed_elsewhere():
    """A rollout's candidate shares the server's count with its primary: the requests still
    being parsed, and those queued at the primary, will not come to it, so its lone request
    runs at once (it used to wait ``max_wait`` for them, holding its connection)."""
    in_flight = handlers(32)
    gate = threading.Event()
    primary = MicroBatcher(doubling([], gate), max_batch_size=64, max_wait=0.0, in_flight=in_flight)
    calls: list[int] = []
    candidate = MicroBatcher(
        doubling(calls), max_batch_size=64, max_wait=3600.0, in_flight=in_flight, primary=False
    )
    busy = [asyncio.ensure_future(primary.submit(np.zeros((1, 1)))) for _ in range(3)]
    await asyncio.sleep(0)
    (values, _), shared = await asyncio.wait_for(candidate.submit(np.ones((1, 1))), 5)
    assert values.tolist() == [2.0] and shared == "v1" and calls == [1]
    assert in_flight.queued == 3  # the primary's, still answering
    gate.set()
    await asyncio.wait_for(asyncio.gather(*busy), 5)
    assert in_flight.queued == 0
    await primary.close()
    await candidate.close()


async def test_a_primary_waiting_for_a_request_that_goes_to_the_candidate_runs_at_once():
    """Two requests in the handlers: the primary's batch holds one and waits for the other,
    which is then routed to the candidate. The batch runs as soon as that one is queued there,
    not at its deadline (at 32 connections every other user may be in that batch, so nothing
    else would come to end the wait: a canary's stragglers stalled the primary)."""
    in_flight = handlers(2)
    primary_calls: list[int] = []
    primary = MicroBatcher(
        doubling(primary_calls), max_batch_size=64, max_wait=3600.0, in_flight=in_flight
    )
    candidate = MicroBatcher(
        doubling([]), max_batch_size=64, max_wait=3600.0, in_flight=in_flight, primary=False
    )
    waiting = asyncio.ensure_future(primary.submit(np.ones((1, 1))))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done() and primary_calls == []  # the other request might still come
    await asyncio.wait_for(candidate.submit(np.ones((1, 1))), 5)
    (values, _), _ = await asyncio.wait_for(waiting, 5)
    assert values.tolist() == [2.0] and primary_calls == [1]
    await primary.close()
    await candidate.close()


async def test_a_copy_joins_the_next_batch_and_is_dropped_past_the_limit():
    """A canary's copy for the primary rides in the primary's next batch (no run of its own);
    with ``limit`` requests already waiting it is dropped (None), never queued unbounded."""
    calls: list[int] = []
    gate = threading.Event()
    batcher = MicroBatcher(
        doubling(calls, gate), max_batch_size=64, max_wait=0.0, in_flight=InFlight()
    )
    running = asyncio.ensure_future(batcher.submit(np.array([[1.0]])))
    await asyncio.sleep(0.05)  # the first batch runs (in the thread), held by the gate
    waiting = asyncio.ensure_future(batcher.submit(np.array([[2.0]])))
    await asyncio.sleep(0)
    copied = batcher.copy(np.array([[3.0]]), None, limit=2)
    assert copied is not None
    assert batcher.copy(np.array([[4.0]]), None, limit=2) is None  # two wait already
    gate.set()
    await asyncio.wait_for(asyncio.gather(running, waiting), 5)
    (values, _), shared = await asyncio.wait_for(copied, 5)
    assert values.tolist() == [6.0] and shared == "v1"
    assert calls == [1, 2]  # the copy shared the second batch
    await batcher.close()
