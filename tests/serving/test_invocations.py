"""MLflow scoring with several models served: a default model, a path per model, /version."""

from __future__ import annotations

import numpy as np
import pytest

from ferry import InvalidInput, Registry, __version__
from ferry.config import ServingSettings
from ferry.serving.server import ModelServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def two_models(cancer_registry: Registry, regressor) -> Registry:
    model, X = regressor
    cancer_registry.register(model, "diabetes", input_example=X)
    cancer_registry.set_alias("diabetes", "production", "1.0.0")
    return cancer_registry


MODELS = ("cancer@production", "diabetes@production")


async def test_the_first_served_model_answers_bare_invocations(serve_registry, two_models, cancer):
    rows = cancer[0].head(2).to_numpy().tolist()
    async with serve_registry(two_models, models=MODELS) as (client, _server):
        response = await client.post("/invocations", json={"instances": rows})
        named = await client.post("/invocations/cancer", json={"instances": rows})
        queried = await client.post(
            "/invocations", params={"model": "cancer"}, json={"inputs": rows}
        )

    assert response.status_code == 200, response.text
    assert response.json() == named.json() == queried.json()
    assert len(response.json()["probabilities"]) == 2


async def test_ferry_default_model_picks_another(serve_registry, two_models, regressor):
    model, X = regressor
    split = {"columns": list(X.columns), "data": X.head(3).to_numpy().tolist()}
    async with serve_registry(two_models, models=MODELS, default_model="diabetes") as (client, _):
        response = await client.post("/invocations", json={"dataframe_split": split})
        named = await client.post("/invocations/diabetes", json={"dataframe_split": split})
        ghost = await client.post("/invocations/ghost", json={"dataframe_split": split})

    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["predictions"], model.predict(X.head(3)))
    assert named.json() == response.json()
    assert ghost.status_code == 404
    assert ghost.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "served: ['cancer', 'diabetes']" in ghost.json()["message"]


async def test_version_names_ferry_and_the_served_models(serve_registry, two_models):
    async with serve_registry(two_models, models=MODELS) as (client, _server):
        response = await client.get("/version")

    assert response.status_code == 200
    assert response.json() == {
        "name": "ferry",
        "version": __version__,
        "default_model": "cancer",
        "models": [
            {"name": "cancer", "version": "1.0.0"},
            {"name": "diabetes", "version": "1.0.0"},
        ],
    }


def test_a_default_model_that_is_not_served_is_refused(two_models):
    settings = ServingSettings(models=MODELS, default_model="churn")

    with pytest.raises(InvalidInput, match=r"FERRY_DEFAULT_MODEL='churn' is not served here"):
        ModelServer(settings, two_models)


async def test_unmatched_methods_on_a_model_path_answer_mlflow_errors(serve):
    async with serve() as (client, _server):
        response = await client.get("/invocations/cancer")

    assert response.status_code == 405
    assert response.json()["error_code"] == "BAD_REQUEST"
