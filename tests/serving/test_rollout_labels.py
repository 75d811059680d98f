"""Rollouts judged on labels, through the real app: labels sent to ``POST /feedback`` are
counted for the variant that answered; an A/B test promotes a better candidate, rolls a worse one
back, or ends an even one as inconclusive; a metric floor rolls a canary back. The analysis clock
is moved, not slept."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sqlalchemy import select
from tests.serving.replicas import Clock

from ferry.registry.tables import events

pytestmark = pytest.mark.anyio
KEYS = [f"user-{index}" for index in range(160)]


async def _ab(client, clock, **plan):
    body = {"model": "cancer", "candidate": "1.1.0", "mode": "ab", "interval": "1m",
            "min_requests": 10, "max_latency_ratio": 1000.0, "max_disagreement": 1.0,
            "min_samples": 40, **plan}  # fmt: skip
    started = await client.post("/rollouts", json=body)
    assert started.status_code == 201, started.text
    clock.now = datetime.fromisoformat(started.json()["window_started_at"])
    return started.json()


async def _labelled_window(client, server, clock, cancer, keys=KEYS):
    """One request per key, its true label sent back as feedback; then the interval passes."""
    X, y = cancer
    variants = {}
    for index, key in enumerate(keys):
        row = X.iloc[index].tolist()
        answer = (await client.post("/predict", json={"rows": [row]},
                                    headers={"X-Ferry-Key": key})).json()  # fmt: skip
        variants[key] = answer["variant"]
        label = int(y.iloc[index])
        sent = await client.post(
            "/feedback", json={"request_id": answer["request_id"], "label": label}
        )
        assert sent.status_code == 200, sent.text
    await server.rollouts.slots["cancer"].shadow.join()
    clock.now += timedelta(seconds=61)
    await server.rollouts.tick()
    return variants


async def test_a_significantly_better_candidate_is_promoted(
    sqlite_registry, serve_registry, pipeline, cancer
):
    X, y = cancer
    sqlite_registry.register(clone(pipeline).fit(X, 1 - y), "cancer", input_example=X.head(20))
    sqlite_registry.set_alias(
        "cancer", "production", "1.0.0"
    )  # a primary that is nearly always wrong
    sqlite_registry.register(pipeline, "cancer", input_example=X.head(20))
    clock = Clock()
    async with serve_registry(sqlite_registry, clock=clock) as (client, server):
        started = await _ab(client, clock, alpha=0.01)
        assert started["bounds"]["min_samples"] == 40 and started["significance"] is None
        variants = await _labelled_window(client, server, clock, cancer)
        assert set(variants.values()) == {"primary", "candidate"}
        status = (await client.get("/rollouts/cancer")).json()
    assert status["state"] == "promoted", status["history"][-1]
    test = status["significance"]
    assert (test["outcome"], test["test"], test["metric"]) == (
        "better",
        "two_proportion_z",
        "accuracy",
    )
    assert test["samples"]["candidate"] == list(variants.values()).count("candidate")
    assert test["p_value"] < 0.01 and test["effect"] > 0.8
    assert 0 < test["confidence_interval"][0] < test["effect"] < test["confidence_interval"][1]
    assert sqlite_registry.resolve("cancer@production").version == "1.1.0"
    assert "significantly better" in sqlite_registry.alias_history("cancer")[-1].reason


async def test_a_significantly_worse_candidate_is_rolled_back_and_alerted(
    cancer_registry, serve_registry, pipeline, cancer, caplog
):
    X, y = cancer
    cancer_registry.register(clone(pipeline).fit(X, 1 - y), "cancer", input_example=X.head(20))
    clock = Clock()
    async with serve_registry(cancer_registry, clock=clock) as (client, server):
        await _ab(client, clock)
        with caplog.at_level(logging.WARNING, logger="ferry.alerts"):
            await _labelled_window(client, server, clock, cancer)
        status = (await client.get("/rollouts/cancer")).json()
    assert status["state"] == "rolled_back" and status["significance"]["outcome"] == "worse"
    assert "significantly worse" in status["reason"]
    assert "alert candidate_rejected for cancer" in caplog.text
    with cancer_registry.catalog.reading() as session:
        rejected = session.connection.execute(
            select(events.c.version).where(events.c.kind == "rejected")
        ).scalars().all()  # fmt: skip
    assert rejected == ["1.1.0"]
    assert cancer_registry.resolve("cancer@production").version == "1.0.0"


async def test_an_even_candidate_ends_inconclusive_and_the_primary_keeps_serving(
    cancer_registry, serve_registry, pipeline, cancer
):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0].head(20))
    clock = Clock()
    async with serve_registry(cancer_registry, clock=clock) as (client, server):
        await _ab(client, clock, min_samples=20, max_samples=40)
        first = await _labelled_window(client, server, clock, cancer, KEYS[:60])
        collecting = (await client.get("/rollouts/cancer")).json()
        await _labelled_window(client, server, clock, cancer, KEYS[60:])
        status = (await client.get("/rollouts/cancer")).json()
        answer = (await client.post("/predict", json={"rows": [cancer[0].iloc[0].tolist()]})).json()
    assert min(list(first.values()).count(v) for v in ("primary", "candidate")) < 40
    assert collecting["state"] == "running"
    assert collecting["significance"]["outcome"] in ("collecting", "inconclusive")
    assert status["state"] == "aborted", status["history"][-1]
    assert status["significance"]["outcome"] == "inconclusive"
    assert status["significance"]["p_value"] >= 0.05  # the same model on two halves of the users
    assert "inconclusive" in status["reason"]
    assert (answer["variant"], answer["version"]) == ("primary", "1.0.0")
    assert cancer_registry.resolve("cancer@production").version == "1.0.0"


async def test_a_candidate_under_the_accuracy_floor_is_rolled_back(
    cancer_registry, serve_registry, pipeline, cancer
):
    X, y = cancer
    cancer_registry.register(clone(pipeline).fit(X, 1 - y), "cancer", input_example=X.head(20))
    clock = Clock()
    async with serve_registry(cancer_registry, clock=clock) as (client, server):
        await _ab(client, clock, mode="canary", steps=[50, 100], min_accuracy=0.9,
                  min_samples=10, failure_limit=1)  # fmt: skip
        await _labelled_window(client, server, clock, cancer, KEYS[:60])
        status = (await client.get("/rollouts/cancer")).json()
    assert status["state"] == "rolled_back", status["history"][-1]
    failed = status["history"][-1]["detail"]["failed"]
    assert [check["check"] for check in failed] == ["accuracy"] and failed[0]["value"] < 0.1
    assert "accuracy" in status["reason"] and "< 0.9" in status["reason"]


async def test_a_candidate_above_the_accuracy_floor_advances(
    cancer_registry, serve_registry, pipeline, cancer
):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0].head(20))
    clock = Clock()
    async with serve_registry(cancer_registry, clock=clock) as (client, server):
        await _ab(client, clock, mode="canary", steps=[50, 100], min_accuracy=0.9,
                  min_samples=10, failure_limit=1)  # fmt: skip
        await _labelled_window(client, server, clock, cancer, KEYS[:60])
        status = (await client.get("/rollouts/cancer")).json()
    assert (status["state"], status["percent"]) == ("running", 100), status["history"][-1]
    checks = {check["check"]: check for check in status["history"][-1]["detail"]["checks"]}
    assert checks["accuracy"]["result"] == "pass" and checks["accuracy"]["value"] >= 0.9


async def test_a_regressor_with_a_significantly_lower_error_is_promoted(
    sqlite_registry, serve_registry, regressor
):
    better, X = regressor
    _, y = load_diabetes(return_X_y=True, as_frame=True)
    shuffled = LinearRegression().fit(X, y.sample(frac=1, random_state=0).to_numpy())
    sqlite_registry.register(shuffled, "diabetes", input_example=X.head(20))
    sqlite_registry.set_alias("diabetes", "production", "1.0.0")
    sqlite_registry.register(better, "diabetes", input_example=X.head(20))
    clock = Clock()
    async with serve_registry(sqlite_registry, clock=clock, models=("diabetes@production",)) as (
        client,
        server,
    ):
        started = await client.post("/rollouts", json={
            "model": "diabetes", "candidate": "1.1.0", "mode": "ab", "interval": "1m",
            "min_requests": 10, "max_latency_ratio": 1000.0, "max_disagreement": 1.0,
            "min_samples": 60, "metric": "absolute_error"})  # fmt: skip
        assert started.status_code == 201, started.text
        clock.now = datetime.fromisoformat(started.json()["window_started_at"])
        for index in range(300):
            answer = (await client.post("/predict", json={"rows": [X.iloc[index].tolist()]},
                                        headers={"X-Ferry-Key": f"user-{index}"})).json()  # fmt: skip
            label = float(y.iloc[index])
            await client.post(
                "/feedback", json={"request_id": answer["request_id"], "label": label}
            )
        await server.rollouts.slots["diabetes"].shadow.join()
        clock.now += timedelta(seconds=61)
        await server.rollouts.tick()
        status = (await client.get("/rollouts/diabetes")).json()
    test = status["significance"]
    assert status["state"] == "promoted", status["history"][-1]
    assert (test["test"], test["metric"], test["outcome"]) == (
        "welch_t",
        "absolute_error",
        "better",
    )
    assert test["effect"] < 0 and test["confidence_interval"][1] < 0 and test["p_value"] < 0.05
    assert sqlite_registry.resolve("diabetes@production").version == "1.1.0"
