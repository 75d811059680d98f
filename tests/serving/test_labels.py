"""Labels handed between replicas, through the real app on one catalog (SQLite and PostgreSQL):
replica one answers every prediction, a round-robin balancer sends half the labels to replica
two, and the A/B test still counts every label, each once. The analysis clock is moved, never
slept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sklearn.base import clone
from sqlalchemy import select

from ferry import Registry
from ferry.registry.rollouts import LABELS_KEPT
from ferry.registry.tables import rollout_labels
from ferry.serving.server import ModelServer

pytestmark = pytest.mark.anyio


class Clock:
    """The analysis clock: moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def registries(tmp_path, catalog_url, pipeline, cancer) -> Iterator[tuple[Registry, Registry]]:
    """Two replicas' registries on one catalog: a primary nearly always wrong, a good candidate."""
    X, y = cancer
    with (
        Registry(home=tmp_path / "home", catalog=catalog_url) as one,
        Registry(home=tmp_path / "home", catalog=catalog_url) as two,
    ):
        one.register(clone(pipeline).fit(X, 1 - y), "cancer", input_example=X.head(20))
        one.set_alias("cancer", "production", "1.0.0")
        one.register(pipeline, "cancer", input_example=X.head(20))
        yield one, two


@asynccontextmanager
async def _replicas(serve_registry, registries, **plan) -> AsyncIterator[tuple[Any, ...]]:
    """Serve both replicas on one clock, start an A/B rollout on one, and let each follow it."""
    clock = Clock()
    async with (
        serve_registry(registries[0], clock=clock, replica_id="one") as (one, server_one),
        serve_registry(registries[1], clock=clock, replica_id="two") as (two, server_two),
    ):
        started = await one.post("/rollouts", json={
            "model": "cancer", "candidate": "1.1.0", "mode": "ab", "interval": "1m",
            "max_latency_ratio": 1000.0, "max_disagreement": 1.0, **plan})  # fmt: skip
        assert started.status_code == 201, started.text
        clock.now = datetime.fromisoformat(started.json()["window_started_at"])
        await server_one.rollouts.tick()  # one leads (on PostgreSQL, two then cannot)
        await server_two.rollouts.tick()
        yield clock, (one, server_one), (two, server_two)


async def _predict(client, cancer, index: int) -> dict:
    row = cancer[0].iloc[index].tolist()
    answer = await client.post("/predict", json={"rows": [row]},
                               headers={"X-Ferry-Key": f"user-{index}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _label(client, request_id: str, label: int) -> None:
    sent = await client.post(
        "/feedback", json={"request_id": request_id, "label": label, "model": "cancer"}
    )
    assert sent.status_code == 200, sent.text


def _counted(server: ModelServer) -> dict[str, int]:
    variants = server.rollouts.slots["cancer"].figures.variants
    return {name: figures.labelled("accuracy").count for name, figures in variants.items()}


def _pending(registry: Registry) -> list[str]:
    query = select(rollout_labels.c.request_id).order_by(rollout_labels.c.id)
    with registry.catalog.reading() as session:
        return list(session.connection.execute(query).scalars())


async def test_labels_sent_to_the_other_replica_reach_the_ab_test(
    registries, serve_registry, cancer
):
    async with _replicas(serve_registry, registries, min_requests=10, min_samples=50) as (
        clock,
        (one, server_one),
        (two, server_two),
    ):
        variants = []
        for index in range(160):
            answer = await _predict(one, cancer, index)
            variants.append(answer["variant"])
            balanced = one if index % 2 else two  # round robin: every other label to two
            await _label(balanced, answer["request_id"], int(cancer[1].iloc[index]))
        unnamed = await two.post("/feedback", json={"request_id": answer["request_id"],
                                                    "label": 1})  # fmt: skip
        here = _counted(server_one)
        await server_one.rollouts.slots["cancer"].shadow.join()
        await server_two.rollouts.tick()  # two remembers none of them: nothing to claim
        assert _counted(server_one) == here and len(_pending(registries[0])) == 80
        clock.now += timedelta(seconds=61)
        await server_one.rollouts.tick()  # claims two's labels, reports, judges
        status = (await two.get("/rollouts/cancer")).json()
        counted = [(await client.get("/metrics")).text for client in (one, two)]
    assert unnamed.status_code == 404 and "pass 'model'" in unnamed.json()["error"]
    assert max(here.values()) < 50  # neither arm reaches min_samples on one's own labels
    assert status["state"] == "promoted", status["history"][-1]
    test = status["significance"]
    assert test["outcome"] == "better"
    assert test["samples"] == {v: variants.count(v) for v in ("primary", "candidate")}
    assert _pending(registries[0]) == []
    assert _labels_counted(counted[0]) == {"scored": 80.0, "claimed": 80.0}
    assert _labels_counted(counted[1]) == {"handed_over": 80.0}


def _labels_counted(metrics: str) -> dict[str, float]:
    """``ferry_rollout_labels_total`` of cancer by outcome, as ``/metrics`` exposes it."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith('ferry_rollout_labels_total{model="cancer",outcome="'):
            found[line.split('outcome="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    return found


async def test_a_label_is_counted_once_and_one_nobody_claims_expires(
    registries, serve_registry, cancer
):
    async with _replicas(serve_registry, registries, min_requests=1, min_samples=40) as (
        clock,
        (one, server_one),
        (two, server_two),
    ):
        first, second = [(await _predict(one, cancer, i))["request_id"] for i in (0, 1)]
        await _label(two, first, 1)
        await _label(two, first, 0)  # sent twice: only the first label counts
        await _label(one, second, 1)  # counted here ...
        await _label(two, second, 1)  # ... so the copy handed over is never claimed
        await _label(two, "answered-by-nobody", 1)
        for _ in range(2):
            await server_one.rollouts.tick()
            await server_two.rollouts.tick()
        counted = sum(_counted(server_one).values()) + sum(_counted(server_two).values())
        waiting = _pending(registries[0])
        for index in range(2, 22):  # a window with requests, judged a day later
            await _predict(one, cancer, index)
        await server_one.rollouts.slots["cancer"].shadow.join()
        clock.now += LABELS_KEPT + timedelta(seconds=61)
        await server_two.rollouts.tick()
        await server_one.rollouts.tick()
        status = (await one.get("/rollouts/cancer")).json()
    assert counted == 2
    assert waiting == [second, "answered-by-nobody"]
    assert (status["state"], status["history"][-1]["kind"]) == ("running", "checked")
    assert sum(status["significance"]["samples"].values()) == 2  # first's and second's
    assert _pending(registries[0]) == []


async def test_a_window_that_waits_a_day_for_requests_still_expires_unclaimed_labels(
    registries, serve_registry
):
    async with _replicas(serve_registry, registries, min_requests=10_000) as (
        clock,
        (one, server_one),
        (two, _),
    ):
        await _label(two, "answered-by-nobody", 1)
        clock.now += timedelta(seconds=61)
        await server_one.rollouts.tick()  # too few requests: the leader waits, judges nothing
        waiting = _pending(registries[0])
        clock.now += LABELS_KEPT
        await server_one.rollouts.tick()
        status = (await one.get("/rollouts/cancer")).json()
    assert waiting == ["answered-by-nobody"]
    assert [event["kind"] for event in status["history"]] == ["started"]  # still unjudged
    assert _pending(registries[0]) == []
