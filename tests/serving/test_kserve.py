"""KServe's v1 protocol over plain HTTP: model status, predict with instances, its error shape."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


async def test_predict_answers_instances_like_the_model(serve, pipeline, cancer):
    X = cancer[0].head(3)
    async with serve() as (client, _server):
        rows = await client.post(
            "/v1/models/cancer:predict", json={"instances": X.to_numpy().tolist()}
        )
        records = await client.post(
            "/v1/models/cancer:predict", json={"instances": X.to_dict(orient="records")}
        )

    assert rows.status_code == 200, rows.text
    assert rows.json()["predictions"] == pipeline.predict(X).tolist()
    np.testing.assert_allclose(rows.json()["probabilities"], pipeline.predict_proba(X), atol=1e-5)
    assert records.json() == rows.json()


async def test_model_status_and_list(serve):
    async with serve() as (client, _server):
        status = await client.get("/v1/models/cancer")
        listing = await client.get("/v1/models")
        ghost = await client.get("/v1/models/ghost")

    assert status.status_code == 200
    assert status.json() == {"name": "cancer", "ready": True}
    assert listing.json() == {"models": ["cancer"]}
    assert ghost.status_code == 404
    assert "ghost" in ghost.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/models/cancer:predict", {"instances": [[1.0]]}, 400, "30"),
        ("/v1/models/cancer:predict", {"rows": [[1.0]]}, 400, "unknown field 'rows'"),
        ("/v1/models/cancer:predict", {}, 400, "needs 'instances'"),
        ("/v1/models/ghost:predict", {"instances": [[1.0]]}, 404, "ghost"),
    ],
)
async def test_errors_come_in_kserve_shape(serve, path, body, status, message):
    async with serve() as (client, _server):
        response = await client.post(path, json=body)

    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


async def test_a_loading_model_is_not_ready(serve_registry, sqlite_registry):
    async with serve_registry(sqlite_registry, models=("ghost@production",)) as (client, _):
        status = await client.get("/v1/models/ghost")
        predict = await client.post("/v1/models/ghost:predict", json={"instances": [[1.0]]})

    assert status.status_code == 503
    assert status.json() == {"name": "ghost", "ready": False}
    assert predict.status_code == 503
    assert "ghost@production is not available" in predict.json()["error"]


async def test_a_sticky_key_gets_the_same_variant_as_on_the_other_protocols(
    cancer_registry, serve_registry, pipeline, cancer
):
    cancer_registry.register(pipeline, "cancer", input_example=cancer[0].head(20))
    row = cancer[0].head(1).to_numpy().tolist()
    async with serve_registry(cancer_registry) as (client, _server):
        started = await client.post(
            "/rollouts", json={"model": "cancer", "candidate": "1.1.0", "steps": [50]}
        )
        assert started.status_code == 201, started.text
        variants = set()
        for key in [f"user-{index}" for index in range(40)]:
            headers = {"X-Ferry-Key": key}
            v1 = await client.post(
                "/v1/models/cancer:predict", json={"instances": row}, headers=headers
            )
            plain = await client.post("/predict", json={"rows": row}, headers=headers)
            assert v1.status_code == 200, v1.text
            assert v1.headers["x-ferry-variant"] == plain.json()["variant"], key
            variants.add(v1.headers["x-ferry-variant"])
    assert variants == {"primary", "candidate"}
