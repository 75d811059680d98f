"""Two references of one model served side by side (``ferry serve churn@production
churn@canary``): each addressable in every protocol, the first the default for the name."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry.config import ServingSettings
from ferry.errors import InvalidInput
from ferry.serving.server import ModelServer

pytestmark = pytest.mark.anyio
BOTH = ("cancer@production", "cancer@canary")


def rows(cancer, n=3):
    return cancer[0].head(n).to_numpy().tolist()


@pytest.fixture
def two_versions(cancer_registry, cancer):
    """1.0.0 on production (the scaled logistic regression), 1.1.0 on canary: a weaker model,
    so that some rows are answered differently."""
    X, y = cancer
    weak = make_pipeline(StandardScaler(), LogisticRegression(C=1e-4)).fit(X, y)
    cancer_registry.register(weak, "cancer", input_example=X, version="1.1.0")
    cancer_registry.set_alias("cancer", "canary", "1.1.0")
    return cancer_registry


async def test_each_reference_answers_with_its_version(serve_registry, two_versions, cancer):
    async with serve_registry(two_versions, models=BOTH) as (client, _server):
        health = (await client.get("/model/health")).json()["models"]
        default = await client.post("/predict", json={"rows": rows(cancer)})
        named = await client.post("/predict", json={"rows": rows(cancer), "model": "cancer"})
        canary = await client.post(
            "/predict", json={"rows": rows(cancer), "model": "cancer@canary"}
        )
        whole = await client.post(
            "/predict", json={"rows": rows(cancer), "model": "cancer@production"}
        )
        mlflow = await client.post(
            "/invocations/cancer@canary", json={"dataframe_split": {"data": rows(cancer)}}
        )
        kserve = await client.post(
            "/v1/models/cancer@canary:predict", json={"instances": rows(cancer)}
        )
    assert {name: entry["version"] for name, entry in health.items()} == {
        "cancer": "1.0.0", "cancer@canary": "1.1.0"}  # fmt: skip
    assert health["cancer@canary"]["reference"] == "cancer@canary"
    assert default.status_code == 422 and "name the model" in default.json()["error"]
    assert [named.json()["version"], whole.json()["version"]] == ["1.0.0", "1.0.0"]
    assert canary.status_code == 200, canary.text
    assert canary.json()["version"] == "1.1.0" and canary.json()["model"] == "cancer"
    assert mlflow.status_code == 200, mlflow.text
    assert kserve.status_code == 200 and kserve.headers["x-ferry-variant"] == "primary"


async def test_v2_names_a_reference_or_a_version(serve_registry, two_versions, cancer):
    body = {"inputs": [{"name": "x", "shape": [3, 30], "datatype": "FP64", "data": rows(cancer)}]}
    async with serve_registry(two_versions, models=BOTH) as (client, _server):
        by_ref = await client.post("/v2/models/cancer@canary/infer", json=body)
        by_version = await client.post("/v2/models/cancer/versions/1.1.0/infer", json=body)
        primary = await client.post("/v2/models/cancer/versions/1.0.0/infer", json=body)
        default = await client.post("/v2/models/cancer/infer", json=body)
        ghost = await client.post("/v2/models/cancer/versions/9.9.9/infer", json=body)
        ready = await client.get("/v2/models/cancer/versions/1.1.0/ready")
        metrics = (await client.get("/metrics")).text
    assert by_ref.status_code == 200, by_ref.text
    versions = [r.json()["model_version"] for r in (by_ref, by_version, primary, default)]
    assert versions == ["1.1.0", "1.1.0", "1.0.0", "1.0.0"]
    assert ghost.status_code == 404 and "9.9.9 is not served here" in ghost.text
    assert ready.status_code == 200
    assert 'ferry_model_ready{model="cancer@canary"} 1.0' in metrics
    assert 'ferry_model_ready{model="cancer"} 1.0' in metrics


def test_the_same_reference_twice_is_refused(two_versions):
    settings = ServingSettings(models=("cancer@canary", "cancer@canary"))
    with pytest.raises(InvalidInput, match="'cancer@canary' is named twice"):
        ModelServer(settings, two_versions)


async def test_metrics_count_a_request_under_the_reference_that_answered(
    serve_registry, two_versions, cancer
):
    """A plain request naming its model in the body, and a v2 request naming a version in its
    path, are counted under the reference that answered (not "unknown", not the bare name)."""
    body = {"inputs": [{"name": "x", "shape": [3, 30], "datatype": "FP64", "data": rows(cancer)}]}
    async with serve_registry(two_versions, models=BOTH) as (client, _server):
        plain = await client.post("/predict", json={"rows": rows(cancer), "model": "cancer@canary"})
        named = await client.post("/predict", json={"rows": rows(cancer), "model": "cancer"})
        v2 = await client.post("/v2/models/cancer/versions/1.1.0/infer", json=body)
        unnamed = await client.post("/predict", json={"rows": rows(cancer)})
        metrics = (await client.get("/metrics")).text
    assert [plain.status_code, named.status_code, v2.status_code] == [200, 200, 200]
    assert unnamed.status_code == 422
    counted = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in metrics.splitlines()
               if line.startswith("ferry_requests_total{")}  # fmt: skip
    canary = 'model="cancer@canary",protocol="{}",status="200",variant="primary",version="1.1.0"'
    primary = 'model="cancer",protocol="plain",status="200",variant="primary",version="1.0.0"'
    unknown = 'model="unknown",protocol="plain",status="422",variant="none",version="none"'
    assert counted == {
        "ferry_requests_total{" + canary.format("plain") + "}": "1.0",
        "ferry_requests_total{" + canary.format("v2") + "}": "1.0",
        "ferry_requests_total{" + primary + "}": "1.0",
        "ferry_requests_total{" + unknown + "}": "1.0",
    }
