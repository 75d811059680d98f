"""Honest start-up figures: load_ms is opening the verified model, startup_ms says the rest."""

from __future__ import annotations

import pytest

from ferry import Registry
from ferry.config import ServingSettings
from ferry.errors import IntegrityError
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
from ferry.serving.startup import LOAD_PHASES, PHASES, Phases, process_age_ms

pytestmark = pytest.mark.anyio
SETTINGS = ServingSettings(models=("cancer@production",), warmup_iterations=3)


def test_phases_add_up_what_each_block_spent():
    ticks = iter([0.0, 0.010, 1.0, 1.002, 2.0, 2.5, 3.0, 3.001])
    phases = Phases(clock=lambda: next(ticks))
    for phase in ("fetch", "verify", "warm_up", "fetch"):
        with phases.timed(phase):
            pass
    assert phases.ms["fetch"] == pytest.approx(11.0)
    assert phases.ms["verify"] == pytest.approx(2.0)
    assert phases.load_ms == pytest.approx(13.0)  # warm-up is not part of opening the model
    assert process_age_ms() > 0  # this process started before now


def test_a_warm_load_reports_its_phases_and_still_checks_every_file(cancer_registry):
    cache = ModelCache(cancer_registry.settings.home / "cache")
    loader = ModelLoader(cancer_registry, cache, SETTINGS)
    version = cancer_registry.resolve("cancer@production")
    first = loader.load(version)  # compiles
    model_sha = next(
        a["sha256"]
        for a in version.metadata["artifacts"]
        if a["file"] == version.metadata["loader"]["file"]
    )
    warm = loader.load(version)
    assert first.runner.backend == warm.runner.backend == "onnx" and warm.cache_hit
    (cache.root / "artifacts" / model_sha).write_bytes(b"tampered")
    healed = loader.load(version)  # the altered copy is not trusted: fetched again, verified
    assert not healed.cache_hit and (cache.root / "artifacts" / model_sha).stat().st_size > 8
    assert set(warm.startup_ms) == set(PHASES)
    assert warm.load_ms == pytest.approx(sum(warm.startup_ms[p] for p in LOAD_PHASES))
    assert warm.startup_ms["verify"] > 0 and warm.startup_ms["open_session"] > 0


def test_a_model_file_a_compiled_graph_stands_in_for_is_still_checked(cancer_registry):
    """The graph is served, the model file only hashed: altered in the cache and in the
    registry, the version is refused although its compiled graph is intact."""
    cache = ModelCache(cancer_registry.settings.home / "cache")
    loader = ModelLoader(cancer_registry, cache, SETTINGS)
    version = cancer_registry.resolve("cancer@production")
    loader.load(version)  # compiles
    model_file = version.metadata["loader"]["file"]
    sha = next(a["sha256"] for a in version.metadata["artifacts"] if a["file"] == model_file)
    assert cache.holds(sha) and not cache.holds("0" * 64)
    (cache.root / "artifacts" / sha).write_bytes(b"tampered")
    assert not cache.holds(sha)
    stored = cancer_registry.settings.home / "models" / "cancer" / "v1.0.0" / model_file
    stored.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=model_file):
        loader.load(version)


async def test_health_breaks_the_start_up_down(serve):
    async with serve() as (client, _server):
        model = (await client.get("/model/health")).json()["models"]["cancer"]
    startup = model["startup_ms"]
    assert list(startup) == list(PHASES)
    assert startup["interpreter_and_imports"] > 0 and startup["warm_up"] > 0
    opened = startup["fetch"] + startup["verify"] + startup["open_session"]
    assert model["load_ms"] == pytest.approx(opened, abs=0.01)


def test_a_registry_read_counts_as_fetch(cancer_registry: Registry):
    loader = ModelLoader(cancer_registry, ModelCache(cancer_registry.settings.home / "c"), SETTINGS)
    cold = loader.load(cancer_registry.resolve("cancer@production"))
    assert not cold.cache_hit and cold.startup_ms["fetch"] > 0
