"""Labels handed over in batches, off the request path, through the real app on one catalog
(SQLite and PostgreSQL): ``POST /feedback`` answers while the catalog is held, a burst becomes
a transaction or two with every label in order, a full queue loses (and counts) the excess,
and a stopping replica writes what waits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from tests.conftest import statements
from tests.serving.replicas import label, labels_counted, pending, predict, replicas

from ferry import Registry
from ferry.registry.tables import rollouts
from ferry.serving.handover import CAPACITY

pytestmark = pytest.mark.anyio
BURST = 150


@contextmanager
def _holding(registry: Registry, rollout_id: int) -> Iterator[None]:
    """Hold the rollout's row, as a rollout that ends does (on SQLite, the write lock)."""
    with registry.catalog.writing() as session:
        session.connection.execute(
            select(rollouts.c.state).where(rollouts.c.id == rollout_id).with_for_update()
        )
        yield


async def test_a_burst_of_labels_is_handed_over_in_a_transaction_or_two_in_order(
    registries, serve_registry, cancer
):
    async with replicas(serve_registry, registries, min_requests=10, min_samples=1000) as (
        _,
        (one, server_one),
        (two, server_two),
    ):
        answers = [await predict(one, cancer, index) for index in range(BURST)]
        with statements(registries[1], "INSERT INTO rollout_labels") as inserts:
            with _holding(registries[0], server_one.rollouts.slots["cancer"].rollout.id):
                for index, answer in enumerate(answers):  # each answered while the writer waits
                    await label(two, answer["request_id"], int(cancer[1].iloc[index]))
            await server_two.rollouts.labels.handover.join()
        written = pending(registries[0])
        await server_one.rollouts.tick()
        counted = [labels_counted((await client.get("/metrics")).text) for client in (one, two)]
    assert 1 <= len(inserts) <= 2  # the write the lock held up, then all the others at once
    assert written == [answer["request_id"] for answer in answers]
    assert counted == [{"claimed": BURST}, {"handed_over": BURST}]


async def test_labels_beyond_the_queue_are_counted_lost_and_logged_once(
    registries, serve_registry, caplog
):
    async with replicas(serve_registry, registries, min_requests=10) as (_, _, (two, server_two)):
        with caplog.at_level(logging.ERROR, logger="ferry.serving"):
            for index in range(CAPACITY + 3):  # faster than any client: the writer has not run
                server_two.rollouts.labelled("cancer", f"request-{index}", 1)
        await server_two.rollouts.labels.handover.join()
        counted = labels_counted((await two.get("/metrics")).text)
    full = [record for record in caplog.records if "wait for the catalog" in record.getMessage()]
    assert counted == {"handed_over": CAPACITY, "lost": 3}
    assert len(full) == 1 and f"{CAPACITY} feedback labels" in full[0].getMessage()
    assert pending(registries[0]) == [f"request-{index}" for index in range(CAPACITY)]


async def test_labels_waiting_when_the_replica_stops_are_written(registries, serve_registry):
    async with replicas(serve_registry, registries, min_requests=10) as (_, _, (two, server_two)):
        for index in range(20):
            server_two.rollouts.labelled("cancer", f"request-{index}", 1)
        await server_two.rollouts.close()  # as the server's stop does, before the writer ran
        counted = labels_counted((await two.get("/metrics")).text)
    assert counted == {"handed_over": 20}
    assert pending(registries[0]) == [f"request-{index}" for index in range(20)]
