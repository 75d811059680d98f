"""FERRY_MAX_MODEL_AGE_DAYS: a version past its age is refused (refuse) or alerted on (alert)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from ferry.errors import InvalidInput
from ferry.serving.age import AgeLimit

pytestmark = pytest.mark.anyio


@pytest.fixture
def registered(cancer_registry) -> datetime:
    created = cancer_registry.resolve("cancer@production").metadata["created_at"]
    return datetime.fromisoformat(created)


async def test_refuse_takes_a_version_past_its_age_out_of_service(
    serve, cancer_registry, registered, forest, cancer
):
    now = [registered + timedelta(days=31)]
    rows = {"rows": cancer[0].head(1).to_numpy().tolist()}
    async with serve(clock=lambda: now[0], max_model_age_days=30, max_model_age="refuse") as (
        client,
        server,
    ):
        assert (await client.get("/v2/health/ready")).status_code == 503
        assert (await client.get("/v2/models/cancer/ready")).status_code == 503
        health = (await client.get("/model/health")).json()
        model = health["models"]["cancer"]
        assert health["status"] == "too_old" and model["status"] == "too_old"
        assert (
            "cancer:1.0.0 is 31.0 days old, older than the limit of 30 days" in model["age_message"]
        )
        refused = await client.post("/predict", json=rows)
        assert refused.status_code == 503 and "31.0 days old" in refused.json()["error"]
        assert (await client.post("/invocations", json={"inputs": rows["rows"]})).status_code == 503
        assert 'ferry_model_ready{model="cancer"} 0.0' in (await client.get("/metrics")).text
        # a newer version promoted is served again
        cancer_registry.register(forest, "cancer", input_example=cancer[0])
        now[0] = datetime.fromisoformat(cancer_registry.resolve("cancer:1.1.0").created_at)
        cancer_registry.set_alias("cancer", "production", "1.1.0")
        await server.refresh("cancer")
        assert (await client.get("/v2/health/ready")).status_code == 200
        assert (await client.post("/predict", json=rows)).json()["version"] == "1.1.0"


async def test_alert_serves_shows_age_alert_and_alerts_once(serve, registered, cancer, caplog):
    now = [registered + timedelta(days=10)]
    rows = {"rows": cancer[0].head(1).to_numpy().tolist()}
    async with serve(clock=lambda: now[0], max_model_age_days=30) as (client, _server):
        assert (await client.get("/model/health")).json()["models"]["cancer"]["status"] == "ready"
        assert not [r for r in caplog.records if r.name == "ferry.alerts"]
        now[0] = registered + timedelta(days=45)
        for _ in range(3):
            health = (await client.get("/model/health")).json()
            assert (await client.post("/predict", json=rows)).status_code == 200
        assert (await client.get("/v2/health/ready")).status_code == 200
        assert health["status"] == "ready" and health["models"]["cancer"]["status"] == "age_alert"
        assert (
            "still served (FERRY_MAX_MODEL_AGE=alert)" in health["models"]["cancer"]["age_message"]
        )
    raised = [r for r in caplog.records if r.name == "ferry.alerts"]
    assert len(raised) == 1 and raised[0].levelno == logging.WARNING
    assert "alert model_too_old for cancer: cancer:1.0.0 is 45.0 days old" in raised[0].getMessage()


def test_the_limit_needs_a_positive_age_and_a_known_action():
    with pytest.raises(InvalidInput, match="FERRY_MAX_MODEL_AGE_DAYS must be more than 0"):
        AgeLimit(0)
    with pytest.raises(InvalidInput, match="FERRY_MAX_MODEL_AGE='never': choose one of"):
        AgeLimit(30, "never")
