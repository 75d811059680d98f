"""Two servers on one PostgreSQL catalog: both route by the same rollout, one leads the
analysis on the figures of both, and when the leader goes the other takes over."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import datetime, timedelta

import pytest
from tests.serving.replicas import Clock

from ferry import Registry

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def _send(client, rows, keys):
    for index, key in enumerate(keys):
        answer = await client.post(
            "/predict", json={"rows": [rows[index % len(rows)]]}, headers={"X-Ferry-Key": key}
        )
        assert answer.status_code == 200


async def test_one_leader_judges_both_replicas_and_another_takes_over(
    tmp_path, postgres_url, serve_registry, pipeline, cancer
):
    registry = Registry(home=tmp_path / "home", catalog=postgres_url)
    for _ in range(2):
        registry.register(pipeline, "cancer", input_example=cancer[0].head(20))
    registry.set_alias("cancer", "production", "1.0.0")
    rows, clock = cancer[0].head(30).to_numpy().tolist(), Clock()
    async with AsyncExitStack() as both:
        first = await both.enter_async_context(AsyncExitStack())
        one, server_one = await first.enter_async_context(
            serve_registry(registry, clock=clock, replica_id="one")
        )
        two, server_two = await both.enter_async_context(
            serve_registry(registry, clock=clock, replica_id="two")
        )
        started = await one.post("/rollouts", json={
            "model": "cancer", "candidate": "1.1.0", "steps": [50, 100], "interval": "1m",
            "min_requests": 10, "max_latency_ratio": 1000.0})  # fmt: skip
        clock.now = datetime.fromisoformat(started.json()["window_started_at"])
        await server_one.rollouts.tick()  # one takes the lock first
        await server_two.rollouts.tick()  # two follows the rollout, without the lock
        assert server_two.rollouts.slots["cancer"].rollout.percent == 50
        assert not server_two.rollouts.leadership.held()
        leaders = [(await c.get("/model/health")).json()["models"]["cancer"]["rollout"]["leader"]
                   for c in (one, two)]  # fmt: skip
        assert leaders == [True, False]

        await _send(one, rows, [f"a-{i}" for i in range(60)])
        await _send(two, rows, [f"b-{i}" for i in range(60)])
        for server in (server_one, server_two):
            await server.rollouts.slots["cancer"].shadow.join()
        clock.now += timedelta(seconds=61)
        await server_two.rollouts.tick()  # stores two's figures; not the leader: no judgement
        assert (await two.get("/rollouts/cancer")).json()["percent"] == 50
        await server_one.rollouts.tick()
        judged = (await two.get("/rollouts/cancer")).json()["history"][-1]
        assert judged["kind"] == "advanced"
        figures = judged["detail"]["figures"]
        assert figures["primary"]["requests"] + figures["candidate"]["requests"] == 120

        await first.aclose()  # the leader stops: its lock's session ends with it
        await server_two.rollouts.tick()
        await _send(two, rows, [f"c-{i}" for i in range(30)])
        await server_two.rollouts.slots["cancer"].shadow.join()
        clock.now += timedelta(seconds=61)
        await server_two.rollouts.tick()
        assert server_two.rollouts.leadership.held()
        final = (await two.get("/rollouts/cancer")).json()
    assert final["state"] == "promoted", final["history"][-1]
    assert registry.resolve("cancer@production").version == "1.1.0"
    registry.close()
