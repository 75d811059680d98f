"""``/rollouts`` over HTTP: start, read, promote, abort; token-protected when one is set."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def candidate(cancer_registry, pipeline, cancer):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0].head(5))
    return cancer_registry


async def test_start_read_and_promote_over_http(serve, candidate):
    async with serve() as (client, _server):
        started = await client.post(
            "/rollouts", json={"model": "cancer", "candidate": "1.1.0", "steps": [20, 100],
                               "interval": "1m", "min_requests": 10},
        )  # fmt: skip
        assert started.status_code == 201, started.text
        assert started.json()["alias"] == "production" and started.json()["percent"] == 20
        listed = (await client.get("/rollouts")).json()["rollouts"]
        assert [r["candidate"] for r in listed] == ["1.1.0"]
        one = (await client.get("/rollouts/cancer")).json()
        assert one["history"][0]["kind"] == "started" and one["min_requests"] == 10
        conflict = await client.post("/rollouts", json={"model": "cancer", "candidate": "1.1.0"})
        assert conflict.status_code == 409
        promoted = await client.post("/rollouts/cancer/promote", json={"reason": "looks good"})
        assert promoted.json()["state"] == "promoted"
        assert candidate.alias_history("cancer", "production")[-1].reason == "looks good"


async def test_bad_bodies_name_the_field(serve, candidate):
    async with serve() as (client, _server):
        missing = await client.post("/rollouts", json={"model": "cancer"})
        assert missing.status_code == 422 and "candidate" in missing.text
        bad = await client.post("/rollouts", json={"model": "cancer", "candidate": "1.1.0",
                                                   "max_error_rate": 5})  # fmt: skip
        assert bad.status_code == 422 and "max_error_rate" in bad.text
        few = await client.post("/rollouts", json={"model": "cancer", "candidate": "1.1.0",
                                                   "mode": "ab", "min_samples": 1})  # fmt: skip
        assert few.status_code == 422 and "min_samples must be a whole number >= 2" in few.text
        unknown = await client.post("/rollouts/other/abort")
        assert unknown.status_code == 404


async def test_rollout_routes_need_the_token(serve, candidate):
    async with serve(api_token="s3cret") as (client, _server):
        assert (await client.get("/rollouts")).status_code == 401
        refused = await client.post("/rollouts", json={"model": "cancer", "candidate": "1.1.0"})
        assert refused.status_code == 401
        headers = {"Authorization": "Bearer s3cret"}
        started = await client.post(
            "/rollouts", json={"model": "cancer", "candidate": "1.1.0"}, headers=headers
        )
        assert started.status_code == 201
        assert (await client.post("/rollouts/cancer/abort")).status_code == 401
        aborted = await client.post("/rollouts/cancer/abort", headers=headers)
        assert aborted.json()["state"] == "aborted"
