"""Baked bundles served with no catalog and no registry; every file still hash-checked."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ferry.config import RegistrySettings, ServingSettings
from ferry.errors import IntegrityError, InvalidInput, NotFound
from ferry.serving.bundle import Bundle, bake

pytestmark = pytest.mark.anyio


@pytest.fixture
def baked(tmp_path, cancer_registry):
    folder = tmp_path / "bundle"
    bake(cancer_registry, "cancer@production", folder, ServingSettings(warmup_iterations=2))
    shutil.rmtree(cancer_registry.settings.home)  # no registry from here on
    return folder


def open_bundle(folder, tmp_path):
    return Bundle(folder, RegistrySettings.resolve(tmp_path / "server-home"))


async def test_a_bundle_serves_with_the_registry_deleted(
    serve_registry, baked, tmp_path, pipeline, cancer
):
    bundle = open_bundle(baked, tmp_path)
    assert bundle.reference == "cancer:1.0.0"
    rows = cancer[0].head(5)
    async with serve_registry(bundle, models=(bundle.reference,)) as (client, server):
        assert (await client.get("/v2/health/ready")).status_code == 200
        answer = (await client.post("/predict", json={"rows": rows.to_numpy().tolist()})).json()
        assert answer["version"] == "1.0.0"
        assert answer["predictions"] == pipeline.predict(rows).tolist()
        np.testing.assert_allclose(answer["probabilities"], pipeline.predict_proba(rows), atol=1e-5)
        health = (await client.get("/model/health")).json()["models"]["cancer"]
        assert health["backend"] == "onnx" and health["cache_hit"] is True
        promote = await client.post("/models/cancer/promote", json={"version": "1.0.0"})
        assert promote.status_code == 422 and "baked bundle" in promote.json()["error"]
        train = await client.post("/train", json={})
        assert train.status_code == 422 and "baked bundle" in train.json()["error"]
        assert (await client.get("/metrics")).status_code == 200
    assert server.registry is None


async def test_a_tampered_model_file_in_a_bundle_is_refused(serve_registry, baked, tmp_path):
    description = json.loads((baked / "bundle.json").read_text())
    model_sha = next(
        a["sha256"]
        for a in json.loads((baked / "metadata.json").read_text())["artifacts"]
        if a["file"] == "model.skops"
    )
    assert description["files"][f"artifacts/{model_sha}"] == model_sha
    model = baked / "artifacts" / model_sha
    model.write_bytes(model.read_bytes()[:-4] + b"oops")
    bundle = open_bundle(baked, tmp_path)
    async with serve_registry(bundle, models=(bundle.reference,)) as (client, _server):
        assert (await client.get("/v2/health/ready")).status_code == 503
        health = (await client.get("/model/health")).json()["models"]["cancer"]
        assert health["status"] == "failed" and "IntegrityError" in health["error"]
        assert "'model.skops'" in health["error"] and "bake the bundle again" in health["error"]
        assert str(baked) not in health["error"]  # the bundle's path is not told to callers


def test_tampered_metadata_is_refused_when_the_bundle_opens(baked, tmp_path):
    metadata = json.loads((baked / "metadata.json").read_text())
    metadata["version"] = "9.0.0"
    (baked / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(IntegrityError, match="metadata.json in the bundle"):
        open_bundle(baked, tmp_path)
    (baked / "metadata.json").unlink()
    with pytest.raises(IntegrityError, match="metadata.json is missing from the bundle"):
        open_bundle(baked, tmp_path)


def test_a_bundle_resolves_only_what_was_baked(baked, tmp_path):
    bundle = open_bundle(baked, tmp_path)
    for ref in ("cancer", "cancer:1.0.0", "cancer@production"):
        assert bundle.resolve(ref).version == "1.0.0"
    for ref in ("cancer:1.1.0", "cancer@staging", "other"):
        with pytest.raises(NotFound, match=r"holds cancer:1.0.0 \(@production\)"):
            bundle.resolve(ref)
    with pytest.raises(InvalidInput, match="not a ferry bundle"):
        Bundle(tmp_path, RegistrySettings.resolve(tmp_path / "h"))
