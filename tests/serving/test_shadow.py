"""The copy queue: answered off the request path, dropped and counted when full."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from ferry.serving.shadow import Copy, ShadowQueue, disagreements

pytestmark = pytest.mark.anyio


async def test_a_full_queue_drops_and_counts_instead_of_waiting():
    answered: list[Copy] = []
    dropped: list[int] = []
    gate = asyncio.Event()

    async def work(copy: Copy) -> None:
        await gate.wait()
        answered.append(copy)

    queue = ShadowQueue(2, work, lambda: dropped.append(1))
    copy = Copy(np.zeros((1, 2)), np.array([1]), "candidate")
    offered = [queue.offer(copy) for _ in range(5)]
    await asyncio.sleep(0)  # the worker takes one copy and waits on the gate
    assert queue.offer(copy)  # that freed one place
    assert offered == [True, True, False, False, False] and len(dropped) == 3
    gate.set()
    await queue.join()
    assert len(answered) == 3
    await queue.close()


async def test_a_failing_copy_does_not_stop_the_next():
    seen: list[str] = []

    async def work(copy: Copy) -> None:
        seen.append(copy.variant)
        if copy.variant == "bad":
            raise RuntimeError("boom")

    queue = ShadowQueue(10, work, lambda: None)
    for variant in ("bad", "good"):
        queue.offer(Copy(np.zeros((1, 1)), np.array([0]), variant))
    await queue.join()
    assert seen == ["bad", "good"]
    await queue.close()


def test_disagreements_count_rows():
    assert disagreements(np.array([1, 0, 1]), np.array([1, 1, 0])) == 2
    assert disagreements(np.array([1.0, 2.0]), np.array([1.001, 3.0])) == 1
    assert (
        disagreements(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 5.0]])) == 1
    )
    assert disagreements(np.array(["a", "b"]), None) == 2
