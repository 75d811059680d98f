"""Dashboard speed: server time of each page over a large catalog.

Run: ``nice -n 19 .venv/bin/python benchmarks/dashboard.py [--models 50 --versions 100
--runs 1000] [--home DIR]`` (``--home`` keeps the catalog there and reuses it next time).
The catalog holds ``models`` models of ``versions`` versions each (rows as registration writes
them, copied from one real registration), ``runs`` runs, 150 alias moves and 200 monitor checks
per model, each check with the per-feature distributions of a real drift check (30 features).
Target (issue 11): every page <= 100 ms on the server. The baseline is what a user does without
a dashboard: ``ferry models list`` + ``ferry runs`` read from Python.

Measured on 2026-12-02 with the other sessions' jobs sharing the 2 cores, both runs back to back
on the same catalog, median / p95 ms of 100 requests, wall (CPU):
  load 9.5, before (94a39bf): Models 103 / 1911, Model 106 / 397, Model all 97 / 175
  load 9.5, after:            Models  38 /   60, Model  86 / 137, Model all 100 / 181
  load 14,  before: Models 109 / 221 (23 / 34), Model 135 / 393 (27 / 80)
  load 15,  after:  Models  54 / 134 (13 / 21), Model 110 / 237 (27 / 37)
Wall time on a loaded machine is mostly waiting for a core; the CPU column is the page's cost.
Idle machine, same day (load average 0.5): Models 13.7 / 18.0, Model 26.8 / 35.2, Model all
24.8 / 35.5, Run 0.9 / 1.2 (wall equal to CPU); the baseline (list models + runs) 258 / 298.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from ferry import Registry
from ferry.drift import DriftDetector
from ferry.drift.distribution import distributions
from ferry.registry.catalog import utcnow
from ferry.registry.catalog_session import AliasMove, VersionRecord
from ferry.registry.refs import Version
from ferry.registry.tables import runs
from ferry.training.runs import CheckRecord, RunStore
from ferry.ui.app import create_ui
from ferry.ui.dashboard import Dashboard


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls, after one warm-up call."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(samples):.1f} / {p95:.1f}"


def populate(registry: Registry, models: int, versions: int, run_count: int) -> None:
    """Catalog rows for every version (metadata of a real registration), runs, alias moves and
    200 checks per model, each with the per-feature distributions of a real drift check."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    real = registry.register(LogisticRegression(max_iter=5000).fit(X, y), "seed", input_example=X)
    plots = _distributions(X)
    store = RunStore(registry.catalog)
    for m in range(models):
        name = f"model-{m:02d}"
        with registry.catalog.writing(name) as session:
            session.lock_model(name, utcnow())
            for v in range(versions):
                number = Version(1, v, 0)
                metadata = {**real.metadata, "model_name": name, "version": str(number)}
                record = VersionRecord(name, number, utcnow(), "sklearn", metadata, "0" * 64)
                session.insert_version(record)
            for move in _moves(versions):
                session.move_alias(name, move)
        with registry.catalog.writing() as session:
            session.connection.execute(runs.insert(), [_run(name, i) for i in range(run_count)])
        for i in range(200):
            store.add_check(_check(name, i), plots)


def _distributions(X: pd.DataFrame) -> list[dict[str, Any]]:
    """What a monitor check records per feature: a real drift check of a shifted sample of the
    30 numeric features (five of them scaled, so some drift)."""
    current = X.sample(200, random_state=0)
    current[list(X.columns[:5])] *= 1.6
    report = DriftDetector().fit(X).check(current)
    return [plot.to_dict() for plot in distributions(report)]


def _moves(versions: int) -> list[AliasMove]:
    """``production`` promoted through every other version, ``staging`` through every one."""
    moves, at = [], "2026-01-01T00:00:00+00:00"
    for alias, step in (("staging", 1), ("production", 2)):
        previous = None
        for v in range(0, versions, step):
            target = str(Version(1, v, 0))
            moves.append(AliasMove(alias, "set", previous, target, at, "bench", "better f1"))
            previous = target
    return moves


def _run(model: str, index: int) -> dict[str, Any]:
    at = f"2026-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}+00:00"
    return {
        "id": f"{model[-2:]}{index:010d}", "model_name": model, "pipeline": "p.toml",
        "trigger": "schedule", "status": "succeeded", "created_at": at, "started_at": at,
        "ended_at": at, "steps": json.dumps([{"name": "fit", "seconds": 1.0}]), "rows": 1000,
        "primary_metric": "f1", "metrics": json.dumps({"f1": 0.9}), "version": "1.0.0",
        "decision": "rejected", "reason": "no gain",
    }  # fmt: skip


def _check(model: str, index: int) -> CheckRecord:
    return CheckRecord(
        model=model, pipeline="p.toml", checked_at=f"2026-01-{index % 28 + 1:02d}T00:00:00+00:00",
        source="log", window_start=None, window_end=None, consumed=True, rows=500,
        champion_version="1.0.0", drift=False, performance_drift=None, action="none",
        run_id=None, status="ok", summary={"drift_share": (index % 10) / 10, "drifted": [],
        "performance": {"metric": "f1", "current": 0.9 - (index % 7) / 100, "rows": 200}},
    )  # fmt: skip


async def served(app: Any, path: str, repeat: int) -> tuple[list[float], list[float]]:
    """Milliseconds per request of ``path`` through the ASGI app, in process (server time):
    wall clock, and the CPU time of this process (what other jobs on a shared machine do not
    stretch)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await client.get(path)).status_code == 200, path
        wall, cpu = [], []
        for _ in range(repeat):
            start, used = time.perf_counter(), time.process_time()
            await client.get(path)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--home", type=Path, help="keep the catalog here; reuse it if it exists")
    options = parser.parse_args()
    title = (
        f"dashboard pages, ms median / p95 over {options.repeat} requests: {options.models} "
        f"models x {options.versions} versions x {options.runs} runs (2-core machine)"
    )
    table = Table(title=title)
    columns = ("page", "ferry", "ferry, CPU", "baseline: list models + runs in Python", "target")
    for column in columns:
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp:
        home = options.home or Path(tmp) / "ferry"
        fresh = not (home / "ferry.db").exists()
        registry = Registry(home=home)
        if fresh:
            populate(registry, options.models, options.versions, options.runs)
        run_id = RunStore(registry.catalog).recent("model-00", limit=1)[0].id
        gc.freeze()  # as `ferry ui` does once started
        baseline = timed(
            lambda: (registry.list_models(), RunStore(registry.catalog).recent(limit=50)),
            min(options.repeat, 20),  # a second each
        )
        pages = {"Models": "/", "Model": "/models/model-00",
                 "Model, every feature": "/models/model-00?features=all", "Run": f"/runs/{run_id}"}  # fmt: skip
        for label, path in pages.items():
            wall, cpu = asyncio.run(served(create_ui(Dashboard(registry)), path, options.repeat))
            table.add_row(label, summary(wall), summary(cpu),
                          summary(baseline) if label == "Models" else "-", "<= 100")  # fmt: skip
        registry.close()
    Console().print(table)


if __name__ == "__main__":
    main()
