"""Labels handed between replicas, through the real app on one catalog (SQLite and PostgreSQL):
replica one answers every prediction, a round-robin balancer sends half the labels to replica
two (one that has no slot for the rollout too), and the A/B test still counts every label, each
once. The analysis clock is moved, never slept."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from tests.serving.replicas import label, labels_counted, pending, predict, replicas

from ferry import Registry
from ferry.registry.rollouts import LABELS_KEPT
from ferry.serving.server import ModelServer

pytestmark = pytest.mark.anyio


def _counted(server: ModelServer) -> dict[str, int]:
    variants = server.rollouts.slots["cancer"].figures.variants
    return {name: figures.labelled("accuracy").count for name, figures in variants.items()}


async def test_labels_sent_to_the_other_replica_reach_the_ab_test(
    registries, serve_registry, cancer
):
    async with replicas(serve_registry, registries, min_requests=10, min_samples=50) as (
        clock,
        (one, server_one),
        (two, server_two),
    ):
        variants = []
        for index in range(160):
            answer = await predict(one, cancer, index)
            variants.append(answer["variant"])
            balanced = one if index % 2 else two  # round robin: every other label to two
            await label(balanced, answer["request_id"], int(cancer[1].iloc[index]))
        unnamed = await two.post("/feedback", json={"request_id": answer["request_id"],
                                                    "label": 1})  # fmt: skip
        await server_two.rollouts.labels.handover.join()
        here = _counted(server_one)
        await server_one.rollouts.slots["cancer"].shadow.join()
        await server_two.rollouts.tick()  # two remembers none of them: nothing to claim
        assert _counted(server_one) == here and len(pending(registries[0])) == 80
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
    assert pending(registries[0]) == []
    assert labels_counted(counted[0]) == {"scored": 80.0, "claimed": 80.0}
    assert labels_counted(counted[1]) == {"handed_over": 80.0}


async def test_a_replica_that_refused_the_candidate_still_hands_labels_to_the_one_that_answered(
    registries, serve_registry, cancer, tmp_path
):
    home = registries[0].settings.home  # two's own copy lacks the candidate's files: refused
    ignored = shutil.ignore_patterns("v1.1.0", "ferry.db*", "cache")
    shutil.copytree(home, tmp_path / "home-two", ignore=ignored)
    catalog = registries[0].settings.catalog_url
    with Registry(home=tmp_path / "home-two", catalog=catalog) as two_registry:
        async with replicas(
            serve_registry, (registries[0], two_registry), min_requests=10, min_samples=50
        ) as (_, (one, server_one), (two, server_two)):
            refused = "cancer" not in server_two.rollouts.slots
            answers = [await predict(one, cancer, index) for index in range(20)]
            for index, answer in enumerate(answers):
                await label(two, answer["request_id"], int(cancer[1].iloc[index]))
            await server_two.rollouts.labels.handover.join()
            await server_one.rollouts.tick()
            counted = [(await client.get("/metrics")).text for client in (one, two)]
            scored = sum(_counted(server_one).values())
    assert refused and scored == 20
    assert labels_counted(counted[0]) == {"claimed": 20.0}
    assert labels_counted(counted[1]) == {"handed_over": 20.0}
    assert pending(registries[0]) == []


async def test_a_label_is_counted_once_and_one_nobody_claims_expires(
    registries, serve_registry, cancer
):
    async with replicas(serve_registry, registries, min_requests=1, min_samples=40) as (
        clock,
        (one, server_one),
        (two, server_two),
    ):
        first, second = [(await predict(one, cancer, i))["request_id"] for i in (0, 1)]
        await label(two, first, 1)
        await label(two, first, 0)  # sent twice: only the first label counts
        await label(one, second, 1)  # counted here ...
        await label(two, second, 1)  # ... so the copy handed over is never claimed
        await label(two, "answered-by-nobody", 1)
        await server_two.rollouts.labels.handover.join()
        for _ in range(2):
            await server_one.rollouts.tick()
            await server_two.rollouts.tick()
        counted = sum(_counted(server_one).values()) + sum(_counted(server_two).values())
        waiting = pending(registries[0])
        for index in range(2, 22):  # a window with requests, judged a day later
            await predict(one, cancer, index)
        await server_one.rollouts.slots["cancer"].shadow.join()
        clock.now += LABELS_KEPT + timedelta(seconds=61)
        await server_two.rollouts.tick()
        await server_one.rollouts.tick()
        status = (await one.get("/rollouts/cancer")).json()
    assert counted == 2
    assert waiting == [second, "answered-by-nobody"]
    assert (status["state"], status["history"][-1]["kind"]) == ("running", "checked")
    assert sum(status["significance"]["samples"].values()) == 2  # first's and second's
    assert pending(registries[0]) == []


async def test_a_window_that_waits_a_day_for_requests_still_expires_unclaimed_labels(
    registries, serve_registry
):
    async with replicas(serve_registry, registries, min_requests=10_000) as (
        clock,
        (one, server_one),
        (two, server_two),
    ):
        await label(two, "answered-by-nobody", 1)
        await server_two.rollouts.labels.handover.join()  # dated now: a day from now it expires
        clock.now += timedelta(seconds=61)
        await server_one.rollouts.tick()  # too few requests: the leader waits, judges nothing
        waiting = pending(registries[0])
        clock.now += LABELS_KEPT
        await server_one.rollouts.tick()
        status = (await one.get("/rollouts/cancer")).json()
    assert waiting == ["answered-by-nobody"]
    assert [event["kind"] for event in status["history"]] == ["started"]  # still unjudged
    assert pending(registries[0]) == []
