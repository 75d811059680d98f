"""FERRY_COMPAT: a version saved with other library versions than the server's, served as users
would (register, rewrite what an older image recorded, start the app, read /model/health)."""

from __future__ import annotations

import pytest

from ferry.config import ServingSettings
from ferry.errors import InvalidInput
from ferry.flavors.base import installed_version

pytestmark = pytest.mark.anyio

NUMPY = installed_version("numpy") or ""
MAJOR, MINOR = NUMPY.split(".")[:2]
SAVED_WITH = f"{MAJOR}.{int(MINOR) + 1}.0"
"""A numpy release this server does not have, as a newer training image recorded it."""


@pytest.fixture
def older_image(cancer_registry, recorded_libraries):
    recorded_libraries(cancer_registry, "cancer:1.0.0", {"numpy": SAVED_WITH})
    return cancer_registry


def _record(cancer, n=3):
    return {"records": cancer[0].head(n).to_dict(orient="records")}


async def test_strict_by_default_refuses_the_load_naming_both_versions_and_the_fix(
    older_image, serve_registry, cancer
):
    async with serve_registry(older_image) as (client, server):
        assert server.settings.compat == "strict"
        health = (await client.get("/model/health")).json()
        model = health["models"]["cancer"]
        assert health["status"] == model["status"] == "failed"
        assert f"numpy {SAVED_WITH} recorded, {NUMPY} installed" in model["error"]
        assert f'pip install "numpy=={MAJOR}.{int(MINOR) + 1}.*"' in model["error"]
        assert "FERRY_COMPAT=warn" in model["error"]
        assert (await client.post("/predict", json=_record(cancer))).status_code == 503


async def test_warn_serves_with_the_comparison_and_a_warning_in_health(
    older_image, serve_registry, cancer
):
    async with serve_registry(older_image, compat="warn") as (client, _server):
        answer = await client.post("/predict", json=_record(cancer))
        assert answer.status_code == 200 and len(answer.json()["predictions"]) == 3
        model = (await client.get("/model/health")).json()["models"]["cancer"]
        assert model["status"] == "ready"
        compat = model["compat"]
        assert (compat["mode"], compat["backend"], compat["compatible"]) == (
            "warn", "native", False
        )  # fmt: skip
        assert f"numpy {SAVED_WITH} recorded" in compat["warning"]
        rows = {row["library"]: row for row in compat["libraries"]}
        assert rows["numpy"] == {
            "library": "numpy", "recorded": SAVED_WITH, "installed": NUMPY, "verdict": "mismatch"
        }  # fmt: skip
        assert rows["scikit-learn"]["verdict"] == "ok"


async def test_off_skips_the_comparison(older_image, serve_registry, cancer):
    async with serve_registry(older_image, compat="off") as (client, _server):
        assert (await client.post("/predict", json=_record(cancer))).status_code == 200
        compat = (await client.get("/model/health")).json()["models"]["cancer"]["compat"]
        assert compat == {
            "mode": "off", "backend": "native", "compatible": True, "warning": None, "libraries": []
        }  # fmt: skip


async def test_a_compatible_version_reports_every_library_ok(cancer_registry, serve_registry):
    async with serve_registry(cancer_registry) as (client, _server):
        compat = (await client.get("/model/health")).json()["models"]["cancer"]["compat"]
        assert compat["compatible"] and compat["warning"] is None
        assert {row["verdict"] for row in compat["libraries"]} == {"ok"}
        assert {"numpy", "scikit-learn"} <= {row["library"] for row in compat["libraries"]}


async def test_its_compiled_onnx_serves_strictly_where_the_native_libraries_differ(
    cancer_registry, serve_registry, recorded_libraries, cancer
):
    async with serve_registry(cancer_registry) as (_client, server):  # compiles into the cache
        assert server.live["cancer"].serving().runner.backend == "onnx"
    recorded_libraries(cancer_registry, "cancer:1.0.0", {"numpy": SAVED_WITH})
    async with serve_registry(cancer_registry) as (client, _server):
        assert (await client.post("/predict", json=_record(cancer))).status_code == 200
        compat = (await client.get("/model/health")).json()["models"]["cancer"]["compat"]
        assert (compat["backend"], compat["compatible"]) == ("onnx", True)
        rows = {row["library"]: row["verdict"] for row in compat["libraries"]}
        assert rows["numpy"] == "not needed" and rows["opset ai.onnx"] == "ok"


async def test_a_new_version_from_another_image_is_refused_and_the_old_keeps_serving(
    cancer_registry, serve_registry, recorded_libraries, pipeline, cancer
):
    # FERRY_ONNX=off: the new artifact must be loaded natively, whatever the compiled cache holds
    async with serve_registry(cancer_registry, onnx="off") as (client, server):
        cancer_registry.register(pipeline, "cancer", input_example=cancer[0])
        recorded_libraries(cancer_registry, "cancer:1.1.0", {"scikit-learn": "0.24.2"})
        cancer_registry.set_alias("cancer", "production", "1.1.0")
        await server.refresh("cancer")
        model = (await client.get("/model/health")).json()["models"]["cancer"]
        assert model["version"] == "1.0.0" and model["last_swap"]["result"] == "refused"
        assert "scikit-learn 0.24.2 recorded" in model["last_swap"]["error"]


def test_an_unknown_mode_is_refused_naming_the_variable():
    with pytest.raises(InvalidInput, match="FERRY_COMPAT='loose': choose one of strict, warn, off"):
        ServingSettings.from_env(environ={"FERRY_COMPAT": "loose"})
