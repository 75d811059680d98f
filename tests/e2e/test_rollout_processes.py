"""Two real ``ferry serve`` processes on one PostgreSQL catalog during a canary rollout: they
split traffic by the same sticky keys, one of them leads the analysis, and when the leader is
killed (``kill -9``) the other takes over and advances the rollout. During an A/B test, the
labels a balancer sends to the replica that did not answer reach the one that did.

The analysis needs no injected clock here: the step interval is one second and the rollout is
held by ``min_requests`` (a window is judged only once the candidate has answered that many),
so the test decides when a window can pass by how many requests it sends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.base import clone
from tests.e2e.conftest import FERRY, free_port

from ferry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
WEIGHT = 20
MIN_REQUESTS = 2300
"""Above the candidate's share of the first 10,000 requests (asserted), so the step waits."""
AB_SAMPLES = 60
"""Labelled outcomes each arm needs before the A/B test runs."""


@dataclass
class Replica:
    """One ``ferry serve`` process, its URL and its log file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def health(self, client: httpx.Client) -> dict[str, Any] | None:
        """This replica's rollout block in ``/model/health`` (None before it serves one)."""
        block: dict[str, Any] | None = client.get(f"{self.url}/model/health").json()["models"][
            "cancer"
        ]["rollout"]
        return block


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str, pipeline, cancer) -> Iterator[list[Replica]]:
    """Two servers of ``cancer@production`` (1.0.0) with 1.1.0 registered beside it."""
    yield from _serve(tmp_path, postgres_url, [pipeline, pipeline], cancer)


@pytest.fixture
def ab_replicas(tmp_path: Path, postgres_url: str, pipeline, cancer) -> Iterator[list[Replica]]:
    """Two servers of a ``cancer@production`` that is nearly always wrong; 1.1.0 is right."""
    wrong = clone(pipeline).fit(cancer[0], 1 - cancer[1])
    yield from _serve(tmp_path, postgres_url, [wrong, pipeline], cancer)


def _serve(
    tmp_path: Path, postgres_url: str, models: list[Any], cancer: Any
) -> Iterator[list[Replica]]:
    """Register ``models`` as 1.0.0 (production) and 1.1.0; serve them from two processes."""
    home = tmp_path / "home"
    with Registry(home=home, catalog=postgres_url) as registry:
        for model in models:
            registry.register(model, "cancer", input_example=cancer[0].head(20))
        registry.set_alias("cancer", "production", "1.0.0")
    environ = {**os.environ, "FERRY_HOME": str(home), "FERRY_CATALOG": postgres_url,
               "FERRY_POLL_INTERVAL": "0.2", "FERRY_WARMUP_ITERATIONS": "2"}  # fmt: skip
    started = []
    for index in range(2):
        port, log = free_port(), tmp_path / f"replica-{index}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [FERRY, "serve", "cancer@production", "--port", str(port), "--log-level", "info"],
                env={**environ, "FERRY_REPLICA_ID": f"replica-{index}"},
                stdout=subprocess.DEVNULL, stderr=sink,
            )  # fmt: skip
        started.append(Replica(process, f"http://127.0.0.1:{port}", log))
    try:
        with httpx.Client(timeout=10) as client:
            for replica in started:
                _until(lambda r=replica: _ready(client, r), f"{replica.url} ready", replica)
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.terminate()
            replica.process.wait(timeout=30)


def _ready(client: httpx.Client, replica: Replica) -> bool:
    try:
        return client.get(f"{replica.url}/v2/health/ready").status_code == 200
    except httpx.TransportError:
        return False


def _until(condition: Any, what: str, replica: Replica | None = None, limit: float = 45) -> None:
    """Poll a real process until ``condition()`` holds (no clock is moved: it is another process)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    logs = replica.log.read_text()[-3000:] if replica is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def _send(url: str, keys: list[str], rows: list[list[float]]) -> list[str]:
    """POST one row per key to ``url`` (16 at a time); the variant that answered each.

    Each sending thread has a client of its own: one client's pool shared by the threads once
    failed a request with EBADF on the client side (the servers logged nothing)."""
    local, clients = threading.local(), []

    def one(index: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
            clients.append(local.client)
        answer = local.client.post(
            f"{url}/predict",
            json={"rows": [rows[index % len(rows)]]},
            headers={"X-Ferry-Key": keys[index]},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert answer.headers["x-ferry-variant"] == body["variant"]
        assert body["version"] == {"primary": "1.0.0", "candidate": "1.1.0"}[body["variant"]]
        return str(body["variant"])

    try:
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(one, range(len(keys))))
    finally:
        for client in clients:
            client.close()


def _leader(client: httpx.Client, replicas: list[Replica]) -> list[bool]:
    blocks = [replica.health(client) for replica in replicas]
    return [block is not None and bool(block["leader"]) for block in blocks]


def test_two_replicas_split_by_key_one_leads_and_the_other_takes_over(replicas, cancer):
    one, two = replicas
    rows = cancer[0].head(50).to_numpy().tolist()
    with httpx.Client(timeout=30) as client:
        started = client.post(f"{one.url}/rollouts", json={
            "model": "cancer", "candidate": "1.1.0", "steps": [WEIGHT, 50, 100],
            "interval": "1s", "min_requests": MIN_REQUESTS, "max_latency_ratio": 1000.0,
        })  # fmt: skip
        assert started.status_code == 201, started.text
        for replica in replicas:
            _until(lambda r=replica: r.health(client) is not None, "the rollout", replica)
        _until(lambda: any(_leader(client, replicas)), "a leader", one)
        leads = _leader(client, replicas)
        assert sorted(leads) == [False, True]  # exactly one leads
        leader, follower = (one, two) if leads[0] else (two, one)

        keys = [f"user-{index}" for index in range(5000)]
        # the leader first: it has stored its figures long before it is killed
        on_leader = _send(leader.url, keys, rows)
        on_follower = _send(follower.url, keys, rows)
        assert on_leader == on_follower  # every key answered by the same variant by both
        share = 100 * (on_leader + on_follower).count("candidate") / 10_000
        assert abs(share - WEIGHT) <= 2, share
        assert on_leader.count("candidate") * 2 < MIN_REQUESTS  # so the first step keeps waiting
        rollout = client.get(f"{one.url}/rollouts/cancer").json()
        assert (rollout["percent"], rollout["state"]) == (WEIGHT, "running")
        assert _leader(client, replicas) == leads  # leadership did not move meanwhile

        os.kill(leader.process.pid, signal.SIGKILL)
        leader.process.wait(timeout=10)
        _until(lambda: _leader(client, [follower]) == [True], "the follower to lead", follower)
        for batch in range(20):
            more = [f"late-{batch}-{index}" for index in range(500)]
            _send(follower.url, more, rows)
            rollout = client.get(f"{follower.url}/rollouts/cancer").json()
            if rollout["percent"] > WEIGHT:
                break
        _until(
            lambda: client.get(f"{follower.url}/rollouts/cancer").json()["percent"] == 50,
            "the rollout to advance",
            follower,
        )
        history = client.get(f"{follower.url}/rollouts/cancer").json()["history"]
    judged = [event for event in history if event["kind"] != "started"]
    assert [event["kind"] for event in judged] == ["advanced"], judged
    figures = judged[0]["detail"]["figures"]
    assert figures["candidate"]["requests"] >= MIN_REQUESTS
    assert figures["candidate"]["requests"] + figures["primary"]["requests"] > 10_000
    assert "now leads the rollout analysis" in follower.log.read_text()


def test_labels_sent_to_the_replica_that_did_not_answer_decide_the_ab_test(ab_replicas, cancer):
    one, two = ab_replicas
    X, y = cancer
    with httpx.Client(timeout=30) as client:
        started = client.post(f"{one.url}/rollouts", json={
            "model": "cancer", "candidate": "1.1.0", "mode": "ab", "interval": "1s",
            "min_requests": 1, "min_samples": AB_SAMPLES, "max_latency_ratio": 1000.0,
            "max_disagreement": 1.0})  # fmt: skip
        assert started.status_code == 201, started.text
        for replica in ab_replicas:
            _until(lambda r=replica: r.health(client) is not None, "the rollout", replica)
        on_one: dict[str, int] = {"primary": 0, "candidate": 0}
        for index in range(2 * AB_SAMPLES + 60):  # every prediction on one, every other label
            answer = client.post(f"{one.url}/predict", json={"rows": [X.iloc[index].tolist()]},
                                 headers={"X-Ferry-Key": f"user-{index}"}).json()  # fmt: skip
            balanced = one if index % 2 else two
            on_one[answer["variant"]] += balanced is one
            sent = client.post(f"{balanced.url}/feedback", json={
                "request_id": answer["request_id"], "label": int(y.iloc[index]),
                "model": "cancer"})  # fmt: skip
            assert sent.status_code == 200, sent.text

        def decided() -> bool:  # a request a round keeps windows judged until the test decides
            client.post(f"{two.url}/predict", json={"rows": [X.iloc[0].tolist()]})
            return client.get(f"{two.url}/rollouts/cancer").json()["state"] != "running"

        _until(decided, "the A/B test to decide", one)
        status = client.get(f"{two.url}/rollouts/cancer").json()
    assert max(on_one.values()) < AB_SAMPLES  # the labels sent to one alone reach no decision
    assert status["state"] == "promoted", status["history"][-1]
    assert min(status["significance"]["samples"].values()) >= AB_SAMPLES
