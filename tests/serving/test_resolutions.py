"""A start from a cached resolution: no catalog before answering, the catalog's word after."""

from __future__ import annotations

import dataclasses

import pytest

from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
from ferry.serving.registry_link import RegistryLink
from ferry.serving.resolutions import Resolutions
from ferry.serving.server import ModelServer

SETTINGS = ServingSettings(models=("cancer@production",), warmup_iterations=3, poll_interval=3600.0)

pytestmark = pytest.mark.anyio


@pytest.fixture
def two_versions(cancer_registry: Registry, forest, cancer) -> Registry:
    """cancer 1.0.0 (pipeline) and 1.1.0 (forest), production on 1.1.0, both compiled."""
    cancer_registry.register(forest, "cancer", input_example=cancer[0].head(5))
    cancer_registry.set_alias("cancer", "production", "1.1.0")
    loader = ModelLoader(
        cancer_registry, ModelCache(cancer_registry.settings.home / "cache"), SETTINGS
    )
    for version in ("1.0.0", "1.1.0"):
        loader.load(cancer_registry.resolve(f"cancer:{version}"))
    return cancer_registry


def _resolutions(registry: Registry) -> Resolutions:
    return Resolutions.in_cache(registry.settings.home / "cache", registry.settings.catalog_url)


def test_records_round_trip_per_catalog(tmp_path, cancer_registry):
    version = cancer_registry.resolve("cancer@production")
    records = Resolutions.in_cache(tmp_path, "sqlite:///a.db")
    records.put("cancer@production", version)
    assert records.get("cancer@production") == version
    assert records.get("cancer@staging") is None
    assert Resolutions.in_cache(tmp_path, "sqlite:///b.db").get("cancer@production") is None
    for path in (tmp_path / "resolved").glob("*.json"):
        path.write_text("{not json")
    assert records.get("cancer@production") is None


async def test_a_cached_start_serves_without_the_catalog_then_follows_it(
    two_versions, serve_registry
):
    _resolutions(two_versions).put("cancer@production", two_versions.resolve("cancer:1.0.0"))
    link = RegistryLink.lazy(two_versions.settings.home)
    async with serve_registry(link) as (client, server):
        answered = await client.post("/predict", json={"rows": [[0.0] * 30]})
        assert answered.status_code == 200 and server.live["cancer"].current.version == "1.0.0"
        assert not link.opened  # no catalog before the first prediction
        await server.refresh("cancer")  # the follower's first poll
        assert link.opened and server.live["cancer"].current.version == "1.1.0"
    assert _resolutions(two_versions).get("cancer@production").version == "1.1.0"


async def test_a_cached_record_unlike_the_catalogs_is_loaded_again(two_versions):
    actual = two_versions.resolve("cancer@production")
    stale = dataclasses.replace(actual, metadata={**actual.metadata, "description": "old"})
    _resolutions(two_versions).put("cancer@production", stale)
    server = ModelServer(SETTINGS, RegistryLink.lazy(two_versions.settings.home))
    await server.refresh("cancer")
    assert server.live["cancer"].current.metadata["description"] == "old"
    await server.refresh("cancer")
    assert server.live["cancer"].current.metadata == actual.metadata
    await server.stop()
