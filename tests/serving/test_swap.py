"""Following aliases: promote, roll back, refuse a corrupt target, token protection."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.anyio


async def test_promote_route_swaps_the_served_version(serve, cancer_registry, forest, cancer):
    cancer_registry.register(forest, "cancer", input_example=cancer[0])
    async with serve() as (client, server):
        moved = await client.post(
            "/models/cancer/promote", json={"version": "1.1.0", "reason": "forest"}
        )
        assert moved.json() == {
            "model": "cancer",
            "alias": "production",
            "version": "1.1.0",
            "moved": True,
        }
        answer = (
            await client.post("/predict", json={"rows": cancer[0].head(2).to_numpy().tolist()})
        ).json()
        assert answer["version"] == "1.1.0"
        assert answer["predictions"] == forest.predict(cancer[0].head(2)).tolist()
        swap = (await client.get("/model/health")).json()["models"]["cancer"]["last_swap"]
        assert swap["result"] == "swapped" and swap["target"] == "cancer:1.1.0"
        back = (await client.post("/models/cancer/rollback", json={})).json()
        assert back == {"model": "cancer", "alias": "production", "from": "1.1.0", "to": "1.0.0"}
        assert server.live["cancer"].current.version == "1.0.0"
        assert cancer_registry.alias_history("cancer", "production")[1].reason == "forest"


async def test_alias_moved_elsewhere_is_followed_on_the_next_poll(
    serve, cancer_registry, pipeline, cancer
):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0])
    async with serve() as (client, server):
        cancer_registry.set_alias("cancer", "production", "1.1.0")
        await server.refresh("cancer")
        assert (await client.get("/model/health")).json()["models"]["cancer"]["version"] == "1.1.0"


async def test_a_corrupt_target_is_refused_and_the_old_version_keeps_serving(
    serve, cancer_registry, forest, cancer
):
    broken = cancer_registry.register(forest, "cancer", input_example=cancer[0])
    model_file = cancer_registry.settings.home / "models" / "cancer" / "v1.1.0" / "model.skops"
    async with serve(cache_dir=cancer_registry.settings.home / "fresh-cache") as (client, server):
        cancer_registry.set_alias("cancer", "production", broken.version)
        model_file.write_bytes(b"corrupted" + model_file.read_bytes()[9:])  # damaged after promote
        await server.refresh("cancer")
        health = (await client.get("/model/health")).json()["models"]["cancer"]
        assert health["version"] == "1.0.0" and health["status"] == "ready"
        assert health["last_swap"]["result"] == "refused"
        assert "IntegrityError" in health["last_swap"]["error"]
        answer = await client.post("/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()})
        assert answer.status_code == 200 and answer.json()["version"] == "1.0.0"
        metrics = (await client.get("/metrics")).text
        assert 'ferry_model_swaps_total{model="cancer",result="refused"} 1.0' in metrics
        await server.refresh("cancer")
        assert 'result="refused"} 1.0' in (await client.get("/metrics")).text


async def test_promote_route_refuses_a_damaged_target_and_keeps_the_alias(
    serve, cancer_registry, forest, cancer
):
    cancer_registry.register(forest, "cancer", input_example=cancer[0])
    model_file = cancer_registry.settings.home / "models" / "cancer" / "v1.1.0" / "model.skops"
    model_file.write_bytes(b"corrupted" + model_file.read_bytes()[9:])
    async with serve() as (client, server):
        refused = await client.post("/models/cancer/promote", json={"version": "1.1.0"})
        assert refused.status_code == 409
        assert "cancer:1.1.0 file 'model.skops' has sha256" in refused.json()["error"]
        assert cancer_registry.resolve("cancer@production").version == "1.0.0"
        assert server.live["cancer"].current.version == "1.0.0"


async def test_admin_routes_need_the_token_when_configured(
    serve, cancer_registry, pipeline, cancer
):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0])
    async with serve(api_token="s3cret") as (client, _server):
        body = {"version": "1.1.0"}
        assert (await client.post("/models/cancer/promote", json=body)).status_code == 401
        wrong = await client.post(
            "/models/cancer/promote", json=body, headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and "API token" in wrong.json()["error"]
        assert (await client.post("/models/cancer/rollback", json={})).status_code == 401
        ok = await client.post(
            "/models/cancer/promote", json=body, headers={"authorization": "Bearer s3cret"}
        )
        assert ok.status_code == 200
        assert cancer_registry.resolve("cancer@production").version == "1.1.0"


async def test_admin_route_errors_name_the_problem(serve):
    async with serve() as (client, _server):
        missing = await client.post("/models/cancer/promote", json={"version": "7.0.0"})
        assert (
            missing.status_code == 404 and "cancer:7.0.0 does not exist" in missing.json()["error"]
        )
        bad = await client.post("/models/cancer/promote", json={})
        assert bad.status_code == 422 and "needs 'version'" in bad.json()["error"]
        nothing = await client.post("/models/cancer/rollback", json={})
        assert nothing.status_code == 409 and "no earlier version" in nothing.json()["error"]


async def test_unknown_alias_answers_503_saying_how_to_fix_it(
    serve_registry, sqlite_registry, pipeline, cancer
):
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    async with serve_registry(sqlite_registry, models=("cancer@staging",)) as (client, _server):
        assert (await client.get("/v2/health/ready")).status_code == 503
        answer = await client.post("/predict", json={"rows": [[0.0] * 30]})
        assert answer.status_code == 503
        assert (
            "no alias 'staging'" in answer.json()["error"]
            and "ferry register" in answer.json()["error"]
        )
        assert (await client.get("/model/health")).json()["models"]["cancer"]["status"] == "failed"
        assert (await client.get("/v2/health/live")).status_code == 200


async def test_lazy_loading_waits_for_the_first_request(serve, cancer):
    async with serve(load="lazy") as (client, server):
        assert not server.ready
        assert (await client.get("/v2/health/ready")).status_code == 503
        answer = await client.post("/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()})
        assert answer.status_code == 200
        assert server.ready


async def test_postgresql_notifications_swap_without_polling(
    serve_registry, tmp_path, postgres_url, pipeline, forest, cancer
):
    from ferry import Registry

    with Registry(home=tmp_path / "pg", catalog=postgres_url) as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.register(forest, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
        async with serve_registry(registry) as (_client, server):
            assert server.live["cancer"].current.version == "1.0.0"
            async with server.swapped:
                await asyncio.to_thread(registry.set_alias, "cancer", "production", "1.1.0")
                await asyncio.wait_for(server.swapped.wait(), 30)
            assert server.live["cancer"].current.version == "1.1.0"
