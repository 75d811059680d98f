"""``POST /train`` and ``GET /runs/{id}``: the server's Train Model button, with a real trainer."""

from __future__ import annotations

import asyncio

import pytest

from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer
from ferry.training.background import BackgroundTrainer

pytestmark = pytest.mark.anyio

PIPELINE = """
[model]
name = "cancer"
[data]
source = "{source}"
target = "target"
[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = {{ n_estimators = 8, max_depth = 4, random_state = 0 }}
[evaluation]
cv_folds = 2
holdout = 0.3
"""


@pytest.fixture
def pipeline_file(tmp_path, cancer):
    X, y = cancer
    X.assign(target=y).to_csv(tmp_path / "train.csv", index=False)
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(source=tmp_path / "train.csv"))
    return path


async def test_train_starts_a_run_and_runs_reports_it(tmp_path, pipeline_file):
    import httpx

    registry = Registry(home=tmp_path / "home")
    trainer = BackgroundTrainer(registry, [pipeline_file])
    settings = ServingSettings(
        models=("cancer@production",), warmup_iterations=1, poll_interval=3600.0
    )
    server = ModelServer(settings, registry)
    app = create_app(server, trainer)
    async with app.router.lifespan_context(app):
        await server.first_loads()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://f"
        ) as client:
            assert (await client.get("/v2/health/ready")).status_code == 503
            started = await client.post("/train", json={"model": "cancer"})
            assert started.status_code == 202
            run_id = started.json()["run_id"]
            assert started.json()["url"] == f"/runs/{run_id}"
            await asyncio.to_thread(trainer.join, 120)
            run = (await client.get(f"/runs/{run_id}")).json()
            assert run["status"] == "succeeded", run
            assert run["decision"] == "promoted" and run["version"] == "1.0.0"
            await server.refresh("cancer")
            assert (await client.get("/v2/health/ready")).status_code == 200
            missing = await client.get("/runs/nope")
            assert missing.status_code == 404
            unknown = await client.post("/train", json={"model": "ghost"})
            assert (
                unknown.status_code == 404 and "no pipeline file known" in unknown.json()["error"]
            )
    registry.close()


async def test_train_while_a_run_is_going_answers_409_with_its_id(tmp_path, pipeline_file):
    """The second request is refused before anything is recorded: one run, and it succeeded."""
    import httpx

    from ferry.training.lock import RunLock
    from ferry.training.runs import RunStore
    from ferry.training.stats import model_stats

    registry = Registry(home=tmp_path / "home")
    trainer = BackgroundTrainer(registry, [pipeline_file])
    settings = ServingSettings(models=("cancer@production",), load="lazy", poll_interval=3600.0)
    app = create_app(ModelServer(settings, registry), trainer)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://f") as client:
        first = await client.post("/train", json={"model": "cancer"})
        second = await client.post("/train", json={"model": "cancer"})
        assert first.status_code == 202
        assert second.status_code == 409, second.text
        assert second.json()["run_id"] == first.json()["run_id"]
        assert "already in progress" in second.json()["error"]
        await asyncio.to_thread(trainer.join, 120)
        store = RunStore(registry.catalog)
        assert [run.status for run in store.recent("cancer")] == ["succeeded"]
        assert model_stats("cancer", store.recent("cancer"), [])["retrain_success_rate"] == 1.0

        lock = RunLock(registry.settings.home, "cancer")
        with lock:  # a monitor check holds the lock and has not started a run
            checking = await client.post("/train", json={"model": "cancer"})
        assert checking.status_code == 409 and checking.json()["run_id"] is None
        again = await client.post("/train", json={"model": "cancer"})
        assert again.status_code == 202
        await asyncio.to_thread(trainer.join, 120)
    registry.close()


async def test_train_needs_the_token_and_a_trainer(serve):
    async with serve(api_token="t") as (client, _server):
        assert (await client.post("/train", json={})).status_code == 401
        assert (await client.get("/runs/x")).status_code == 401
        disabled = await client.post("/train", json={}, headers={"authorization": "Bearer t"})
        assert disabled.status_code == 422 and "training is not enabled" in disabled.json()["error"]
