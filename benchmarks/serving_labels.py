"""Feedback labels handed over during an A/B rollout, on PostgreSQL: how many a second one
``ferry serve`` replica hands to the replicas that answered their requests.

Run: ``.venv/bin/python benchmarks/serving_labels.py [--labels N] [--connections C] [--rounds R]``.
A fresh database on 127.0.0.1:5432 (trust auth; dropped afterwards) holds ``cancer`` 1.0.0
(``production``) and 1.1.0 in an A/B rollout; one ``ferry serve cancer@production`` follows it
(its slot made, the candidate loaded). Each round sends N ``POST /feedback`` for request ids the
replica did not answer, from C connections, and times two things: until every POST is answered,
and until every label is in ``rollout_labels`` (or counted lost). The baseline is the same
script against the source before labels were handed over in batches
(``PYTHONPATH=<old checkout>/src``): one catalog transaction per label, inside its POST.
``--catalog-path`` also times the hand-over alone, in process (this source only).

Measured 3 December 2026 on the shared 2-core machine (load 2.0-3.4), 2,000 labels, 16
connections, rounds of three runs each: before (a transaction per label, in its POST) 126-222
labels/s, POST p50 68-90 ms, 2,000 transactions, 3.8-4.9 server CPU ms/label; queued 121-251
labels/s, p50 43-75 ms, 675-1,400 transactions, 3.3-5.3 CPU ms/label. The POST's own durable
write to the feedback log (a file per write, 2.4 CPU ms for one label) bounds both. The
hand-over alone: 275-671 labels/s a transaction at a time, 3,880-7,474 queued (one transaction).
Idle machine, later that day, 4,000 labels, 3 rounds each: queued 247-340 labels/s, 2.2-3.0 CPU
ms/label, 2,261-2,686 transactions (a writer pass took the one or two labels that came while
the last wrote); with each pass lingering 50 ms (``handover.LINGER``) 224-266 labels/s, 2.6-3.0
CPU ms/label, 236-280 transactions; with feedback writes one at a time as well (a group commit)
259-266 labels/s, 2.3-2.7 CPU ms/label, 236-248 transactions. The catalog is not the bound.
In process, 16 callers of ``PredictionLog.write_feedback`` (no HTTP): 2,146-2,309 labels/s and
360 files for 2,000 labels written side by side, 3,003-3,048 labels/s and 157-228 files one
write at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry import Registry
from ferry.registry.rollout_plan import RolloutPlan
from ferry.registry.rollouts import Rollouts

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
FERRY = str(Path(sys.executable).parent / "ferry")


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"ferry_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(home: Path, catalog: str) -> None:
    """Two versions of a small classifier and an A/B rollout between them."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    with Registry(home=home, catalog=catalog) as registry:
        for _ in range(2):
            registry.register(model, "cancer", input_example=X.head(20))
        registry.set_alias("cancer", "production", "1.0.0")
        Rollouts(registry).start("cancer@production", "1.1.0", RolloutPlan(mode="ab", steps=(50,)))


@contextmanager
def serving(home: Path, catalog: str) -> Iterator[str]:
    """``ferry serve`` on a free port, once it serves the rollout's candidate."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FERRY_HOME": str(home), "FERRY_CATALOG": catalog,
           "FERRY_POLL_INTERVAL": "0.2", "FERRY_WARMUP_ITERATIONS": "2"}  # fmt: skip
    process = subprocess.Popen(
        [FERRY, "serve", "cancer@production", "--port", str(port), "--log-level", "warning"],
        env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5) as client:
            while not _follows_the_rollout(client, url):
                if process.poll() is not None:
                    raise RuntimeError(f"ferry serve exited with code {process.returncode}")
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _follows_the_rollout(client: httpx.Client, url: str) -> bool:
    try:
        health = client.get(f"{url}/model/health").json()
    except httpx.HTTPError:
        return False
    return health.get("models", {}).get("cancer", {}).get("rollout") is not None


async def send(url: str, ids: list[str], connections: int) -> tuple[float, list[float]]:
    """POST a label for each id from ``connections`` clients: seconds until all are answered,
    and each POST's milliseconds."""
    queue, took = list(reversed(ids)), []
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while queue:
                request_id, began = queue.pop(), time.perf_counter()
                sent = await client.post("/feedback", json={
                    "request_id": request_id, "label": 1, "model": "cancer"})  # fmt: skip
                sent.raise_for_status()
                took.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - began, took


def scraped(url: str) -> dict[str, float]:
    """``ferry_rollout_labels_total`` by outcome, and the server's CPU seconds."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("ferry_rollout_labels_total{"):
            found[line.split('outcome="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("process_cpu_seconds_total "):
            found["cpu"] = float(line.rsplit(" ", 1)[1])
    return found


def transactions(catalog: str, prefix: str) -> int:
    """Hand-over transactions that wrote the labels whose ids start with ``prefix``: each
    dates its rows with one timestamp (to the microsecond)."""
    with psycopg.connect(catalog) as connection:
        row = connection.execute(
            "SELECT count(DISTINCT created_at) FROM rollout_labels WHERE request_id LIKE %s",
            (prefix + "%",),
        ).fetchone()
    return int(row[0]) if row else 0


def one_round(url: str, catalog: str, labels: int, connections: int, round_: int) -> list[str]:
    """One round's row of the table."""
    before = scraped(url)
    ids = [f"round-{round_}-{index}" for index in range(labels)]
    began = time.perf_counter()
    answered, took = asyncio.run(send(url, ids, connections))
    while True:  # every label handed over or lost
        now = scraped(url)
        done = sum(now.get(k, 0) - before.get(k, 0) for k in ("handed_over", "lost"))
        if done >= labels:
            break
        time.sleep(0.005)
    written, took = time.perf_counter() - began, sorted(took)
    return [str(round_ + 1), f"{labels / answered:,.0f}", f"{labels / written:,.0f}",
            f"{statistics.median(took):.1f} / {took[int(0.99 * len(took))]:.1f}",
            str(transactions(catalog, f"round-{round_}-")),
            f"{(now['cpu'] - before['cpu']) * 1000 / labels:.2f}",
            f"{now.get('lost', 0) - before.get('lost', 0):.0f}"]  # fmt: skip


async def catalog_path(home: Path, catalog: str, labels: int, connections: int) -> list[str]:
    """The hand-over alone, in process (no HTTP, no feedback log): labels/s written one
    transaction per label by ``connections`` callers, as each POST wrote before, then through
    the queue (every label offered at once, the writer's best case), and its transactions."""
    from prometheus_client import CollectorRegistry, Counter

    from ferry.serving.handover import HandOver

    with Registry(home=home, catalog=catalog) as registry:
        store = Rollouts(registry)
        rollout = store.active("cancer")
        assert rollout is not None
        waiting = iter(range(labels))

        async def one_at_a_time() -> None:
            for index in waiting:
                now = datetime.now(UTC).isoformat(timespec="microseconds")
                await asyncio.to_thread(store.hand_over, rollout, [(f"single-{index}", 1)], now)

        began = time.perf_counter()
        await asyncio.gather(*(one_at_a_time() for _ in range(connections)))
        single = labels / (time.perf_counter() - began)
        counted = Counter("labels", "", ["model", "outcome"], registry=CollectorRegistry())
        handover = HandOver(lambda: store, lambda: datetime.now(UTC), counted)
        began = time.perf_counter()
        for index in range(labels):
            handover.offer(rollout, f"queued-{index}", 1)
        await handover.close()
        queued = labels / (time.perf_counter() - began)
    return [f"{single:,.0f}", f"{queued:,.0f}", str(transactions(catalog, "queued-"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--catalog-path",
        action="store_true",
        help="also time the hand-over alone, in process (this source only)",
    )
    args = parser.parse_args()
    table = Table(title=f"{args.labels} labels handed over, {args.connections} connections, "
                  "PostgreSQL (2-core machine)")  # fmt: skip
    for column in (
        "round",
        "POST /feedback answered/s",
        "labels in the catalog/s",
        "POST ms p50 / p99",
        "catalog transactions",
        "server CPU ms/label",
        "lost",
    ):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as folder, database() as catalog:
        home = Path(folder) / "home"
        prepare(home, catalog)
        with serving(home, catalog) as url:
            for round_ in range(args.rounds):
                table.add_row(*one_round(url, catalog, args.labels, args.connections, round_))
        Console().print(table)
        if args.catalog_path:
            alone = Table(title=f"the hand-over alone, in process, {args.labels} labels")
            for column in ("one transaction a label, labels/s", "queued, labels/s",
                           "queued: transactions"):  # fmt: skip
                alone.add_column(column)
            found = asyncio.run(catalog_path(home, catalog, args.labels, args.connections))
            alone.add_row(*found)
            Console().print(alone)


if __name__ == "__main__":
    main()
