"""Two replicas behind one balancer, in process, on one catalog: what the label tests share,
and the analysis clock every rollout test moves.

``registries`` (in ``conftest.py``) gives two replicas' registries on one catalog, a primary
nearly always wrong and a good candidate; :func:`replicas` serves them on one clock and starts
an A/B rollout. The analysis clock is moved, never slept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ferry import Registry
from ferry.registry.tables import rollout_labels


class Clock:
    """The analysis clock: moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@asynccontextmanager
async def replicas(
    serve_registry: Any, registries: tuple[Registry, Registry], **plan: Any
) -> AsyncIterator[tuple[Any, ...]]:
    """Serve both replicas on one clock, start an A/B rollout on one, and let each follow it."""
    clock = Clock()
    async with (
        serve_registry(registries[0], clock=clock, replica_id="one") as (one, server_one),
        serve_registry(registries[1], clock=clock, replica_id="two") as (other, server_two),
    ):
        started = await one.post("/rollouts", json={
            "model": "cancer", "candidate": "1.1.0", "mode": "ab", "interval": "1m",
            "max_latency_ratio": 1000.0, "max_disagreement": 1.0, **plan})  # fmt: skip
        assert started.status_code == 201, started.text
        clock.now = datetime.fromisoformat(started.json()["window_started_at"])
        await server_one.rollouts.tick()  # one leads (on PostgreSQL, two then cannot)
        await server_two.rollouts.tick()
        yield clock, (one, server_one), (other, server_two)


async def predict(client: Any, cancer: Any, index: int) -> dict[str, Any]:
    """One row of the cancer data, answered for the sticky key ``user-{index}``."""
    row = cancer[0].iloc[index].tolist()
    answer = await client.post("/predict", json={"rows": [row]},
                               headers={"X-Ferry-Key": f"user-{index}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def label(client: Any, request_id: str, value: int) -> None:
    """Send a label as a client behind a balancer does: naming the model."""
    sent = await client.post(
        "/feedback", json={"request_id": request_id, "label": value, "model": "cancer"}
    )
    assert sent.status_code == 200, sent.text


def pending(registry: Registry) -> list[str]:
    """The request ids of the labels waiting in the catalog, in the order they were written."""
    query = select(rollout_labels.c.request_id).order_by(rollout_labels.c.id)
    with registry.catalog.reading() as session:
        return list(session.connection.execute(query).scalars())


def labels_counted(metrics: str) -> dict[str, float]:
    """``ferry_rollout_labels_total`` of cancer by outcome, as ``/metrics`` exposes it."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith('ferry_rollout_labels_total{model="cancer",outcome="'):
            found[line.split('outcome="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    return found
