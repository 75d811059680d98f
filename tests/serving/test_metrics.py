"""What /metrics shows from the first scrape: process figures, readiness, zeroed counters, drift."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ferry.serving.drift_status import DriftFinding, DriftStatus
from ferry.serving.metrics import SWAP_RESULTS
from ferry.training.runs import CheckRecord, RunStore

pytestmark = pytest.mark.anyio


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def check(model: str, drift: bool | None, share: float) -> CheckRecord:
    return CheckRecord(
        model=model, pipeline="p.toml", checked_at="2026-01-01T00:00:00+00:00", source="log",
        window_start=None, window_end=None, consumed=True, rows=100, champion_version="1.0.0",
        drift=drift, performance_drift=None, action="none", run_id=None, status="ok",
        summary={"drift_share": share},
    )  # fmt: skip


async def test_the_first_scrape_has_process_figures_readiness_and_zeroed_counters(serve):
    async with serve() as (client, _server):
        found = samples((await client.get("/metrics")).text)
    names = {name for name, _labels in found}
    for standard in (
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "python_info", "python_gc_collections_total",
    ):  # fmt: skip
        assert standard in names, f"{standard} missing from /metrics"
    model = (("model", "cancer"),)
    assert found[("ferry_model_ready", model)] == 1.0
    assert found[("ferry_low_confidence_total", model)] == 0.0
    for result in SWAP_RESULTS:
        key = ("ferry_model_swaps_total", tuple(sorted([*model, ("result", result)])))
        assert key in found, f"swaps with result={result} not initialised"
    assert found[("ferry_model_swaps_total", (("model", "cancer"), ("result", "loaded")))] == 1.0


async def test_a_model_that_cannot_load_reads_not_ready(serve):
    async with serve(models=("cancer@nowhere",)) as (client, _server):
        found = samples((await client.get("/metrics")).text)
    assert found[("ferry_model_ready", (("model", "cancer"),))] == 0.0


async def test_the_newest_monitor_check_is_exported_as_drift_share(serve, cancer_registry):
    store = RunStore(cancer_registry.catalog)
    store.add_check(check("cancer", False, 0.1))
    store.add_check(check("cancer", True, 0.4))
    store.add_check(check("cancer", None, 0.0))  # a check that could not test drift
    store.add_check(check("other", True, 0.9))
    async with serve() as (client, _server):
        found = samples((await client.get("/metrics")).text)
    assert found[("ferry_drift_share", (("model", "cancer"),))] == 0.4
    assert found[("ferry_drift_detected", (("model", "cancer"),))] == 1.0
    assert ("ferry_drift_share", (("model", "other"),)) not in found


def test_the_catalog_is_read_once_per_interval(cancer_registry):
    now = [0.0]
    status = DriftStatus(cancer_registry.catalog, ["cancer"], interval=10.0, clock=lambda: now[0])
    assert status.findings() == {}
    store = RunStore(cancer_registry.catalog)
    store.add_check(check("cancer", True, 0.5))
    now[0] = 9.0
    assert status.findings() == {}
    now[0] = 10.0
    assert status.findings() == {"cancer": DriftFinding(0.5, True)}


async def test_a_swap_retires_the_old_versions_series(serve, cancer_registry, forest, cancer):
    cancer_registry.register(forest, "cancer", input_example=cancer[0])
    async with serve() as (client, _server):
        before = samples((await client.get("/metrics")).text)
        moved = await client.post("/models/cancer/promote", json={"version": "1.1.0"})
        assert moved.status_code == 200
        after = samples((await client.get("/metrics")).text)
    per_version = ("ferry_model_age_seconds", "ferry_model_warmup_p95_seconds")
    for name in per_version:
        assert {dict(labels)["version"] for n, labels in before if n == name} == {"1.0.0"}
        assert {dict(labels)["version"] for n, labels in after if n == name} == {"1.1.0"}
    loads = {
        dict(labels)["version"] for n, labels in after if n == "ferry_model_load_duration_seconds"
    }
    assert loads == {"1.1.0"}
