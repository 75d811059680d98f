"""The prediction log and feedback, read back as the drift monitor reads them."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from ferry import Registry
from ferry.logstore.store import LogStore
from ferry.serving.capture import PredictionLog
from ferry.training.prediction_log import JOINED_LABEL, read_window

pytestmark = pytest.mark.anyio


async def test_predictions_and_feedback_land_in_partitioned_parquet(serve, cancer_registry, cancer):
    frame = cancer[0].head(3)
    async with serve() as (client, _server):
        answer = (
            await client.post("/predict", json={"records": frame.to_dict(orient="records")})
        ).json()
        await client.post("/predict", json={"rows": frame.head(1).to_numpy().tolist()})
        recorded = await client.post(
            "/feedback", json={"request_id": answer["request_id"], "label": 1}
        )
        assert recorded.json() == {
            "recorded": True,
            "model": "cancer",
            "request_id": answer["request_id"],
        }
        unknown = await client.post("/feedback", json={"request_id": "nope", "label": 0})
        assert unknown.status_code == 404 and "pass 'model'" in unknown.json()["error"]
        bad = await client.post("/feedback", json={"label": 0})
        assert bad.status_code == 422
    home = cancer_registry.settings.home
    predictions = ds.dataset(home / "predictions", partitioning="hive").to_table().to_pandas()
    assert len(predictions) == 4
    assert set(predictions["model"]) == {"cancer"} and set(predictions["version"].astype(str)) == {
        "1.0.0"
    }
    assert predictions["mean radius"].tolist()[:3] == frame["mean radius"].tolist()
    assert {"ferry_request_id", "ferry_time", "ferry_prediction", "ferry_confidence", "day"} <= set(
        predictions
    )
    assert (predictions["ferry_request_id"] == answer["request_id"]).sum() == 3
    assert predictions["ferry_confidence"].between(0.5, 1.0).all()
    feedback = ds.dataset(home / "feedback", partitioning="hive").to_table().to_pandas()
    assert feedback["ferry_request_id"].tolist() == [answer["request_id"]]
    assert feedback["label"].tolist() == [1]


async def test_sampling_zero_logs_nothing(serve, cancer_registry, cancer):
    async with serve(log_sample_rate=0.0) as (client, _server):
        await client.post("/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()})
    assert not (cancer_registry.settings.home / "predictions").exists()


def _block(folder):
    """A file where the log's folder should be: every write under it fails, root or not."""
    folder.write_text("not a folder")


def _metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(f'{name}{{model="cancer"}}'))
    return float(line.rsplit(" ", 1)[1])


async def test_a_label_that_cannot_be_written_is_refused_not_confirmed(
    serve, cancer_registry, cancer
):
    home = cancer_registry.settings.home
    _block(home / "feedback")
    async with serve() as (client, _server):
        answer = (
            await client.post("/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()})
        ).json()
        lost = await client.post("/feedback", json={"request_id": answer["request_id"], "label": 1})
        assert lost.status_code == 503
        assert (
            "not recorded" in lost.json()["error"] and "cannot be written" in lost.json()["error"]
        )
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, "ferry_prediction_log_write_failures_total") == 1.0
        (home / "feedback").unlink()
        kept = await client.post("/feedback", json={"request_id": answer["request_id"], "label": 1})
        assert kept.status_code == 200 and kept.json()["recorded"] is True
    window = read_window(home, "cancer", None, datetime.now(UTC))
    assert window.frame[JOINED_LABEL].tolist() == [1]


async def test_unwritable_rows_are_counted_retried_and_shown_in_health(
    serve, cancer_registry, cancer
):
    home = cancer_registry.settings.home
    _block(home / "predictions")
    rows = cancer[0].head(1).to_numpy().tolist()
    async with serve(log_max_pending_rows=2) as (client, server):
        first = (await client.get("/metrics")).text  # series exist before anything happened
        assert _metric(first, "ferry_prediction_log_write_failures_total") == 0.0
        for _ in range(3):
            assert (await client.post("/predict", json={"rows": rows})).status_code == 200
        await asyncio.to_thread(server.capture.flush)
        block = (await client.get("/model/health")).json()["prediction_log"]
        assert block["written"] == 0 and block["pending"] == 2 and block["dropped"] == 1
        assert block["failures"] == 1 and "NotADirectoryError" in block["last_error"]
        assert block["location"] == "<path>"  # callers without the token never see the folder
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, "ferry_prediction_log_write_failures_total") == 1.0
        assert _metric(metrics, "ferry_prediction_log_dropped_rows_total") == 1.0
        (home / "predictions").unlink()  # the location is back: the kept rows are written
        await asyncio.to_thread(server.capture.flush)
        block = (await client.get("/model/health")).json()["prediction_log"]
        assert block["written"] == 2 and block["pending"] == 0
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, "ferry_prediction_log_rows_written_total") == 2.0
    assert read_window(home, "cancer", None, datetime.now(UTC)).rows == 2


async def test_the_server_applies_log_retention(serve, cancer_registry, log_file):
    home = cancer_registry.settings.home
    store = LogStore(home)
    old = log_file(store, "2020-01-01", model="cancer")
    foreign = home / "predictions" / "keep-me.txt"
    foreign.write_text("mine")
    async with serve(log_retention_days=30.0) as (client, server):
        assert await asyncio.to_thread(server.capture.retained.wait, 30)  # the writer's first pass
        block = (await client.get("/model/health")).json()["prediction_log"]
    assert block["retention"]["removed_files"] == 1
    assert not Path(old).exists() and foreign.read_text() == "mine"


async def test_replicas_sharing_ferry_log_dir_write_their_own_streams(
    serve_registry, cancer_registry, cancer, monkeypatch, tmp_path
):
    logs = tmp_path / "logs"
    monkeypatch.setenv("FERRY_LOG_DIR", str(logs))
    rows = cancer[0].head(2).to_numpy().tolist()
    with Registry(home=cancer_registry.settings.home) as registry:
        for replica in ("pod-a", "pod-b"):
            async with serve_registry(registry, replica_id=replica) as (client, server):
                assert (await client.post("/predict", json={"rows": rows})).status_code == 200
                health = (await client.get("/model/health")).json()["prediction_log"]
                assert health["replica"] == replica and health["location"] == "<path>"
                assert server.health()["prediction_log"]["location"] == str(logs)
    names = sorted(path.name for path in logs.rglob("part-*.parquet"))
    assert [name.split("-")[1:3] for name in names] == [["pod", "a"], ["pod", "b"]]
    assert not (cancer_registry.settings.home / "predictions").exists()
    assert read_window(LogStore(logs), "cancer", None, datetime.now(UTC)).rows == 4


def test_buffered_requests_add_nothing_to_what_the_collector_walks(tmp_path):
    """Full collections stop the event loop for as long as they walk the tracked objects: the
    requests waiting for the next flush must not be among them (they were, one object each)."""
    log = PredictionLog(
        LogStore(tmp_path), replica="r", sample_rate=1.0, flush_rows=10**9, flush_seconds=3600
    )
    names = ("a", "b", "c")
    gc.collect()
    before = len(gc.get_objects())
    for i in range(5_000):
        log.record("m", "1.0.0", names, f"req-{i}", np.full((1, 3), i / 7), np.array([i % 2]),
                   np.array([0.75]))  # fmt: skip
    gc.collect(0)
    assert len(gc.get_objects()) - before < 500
    log.flush()
    logged = ds.dataset(tmp_path / "predictions", partitioning="hive").to_table().to_pandas()
    assert len(logged) == 5_000 and logged["ferry_request_id"].nunique() == 5_000
    assert logged.sort_values("b")["b"].tolist() == [i / 7 for i in range(5_000)]
