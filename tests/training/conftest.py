"""Pipelines on scikit-learn's bundled datasets, and the server's prediction log written the way
``ferry.serving.capture`` writes it (Hive-partitioned Parquet), for the training tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_breast_cancer

FOREST = (
    'class = "sklearn.ensemble.RandomForestClassifier"\n'
    "params = { n_estimators = 8, max_depth = 4, random_state = 0 }"
)
DUMMY = 'class = "sklearn.dummy.DummyClassifier"\nparams = { strategy = "most_frequent" }'

PIPELINE = """
[model]
name = "{name}"
description = "breast cancer"

[data]
source = "{source}"
target = "target"

[estimator]
{estimator}

[evaluation]
cv_folds = {cv_folds}
{evaluation}

{extra}
"""

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A fixed 'now' for tests that inject time."""


@pytest.fixture(scope="session")
def cancer_frame() -> pd.DataFrame:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.copy()
    frame["target"] = y
    return frame


@pytest.fixture
def workdir(tmp_path: Path, cancer_frame: pd.DataFrame) -> Path:
    """A folder with ``train.csv`` (the cancer data) beside the pipeline files."""
    cancer_frame.to_csv(tmp_path / "train.csv", index=False)
    return tmp_path


PipelineWriter = Callable[..., Path]


@pytest.fixture
def write_pipeline(workdir: Path) -> PipelineWriter:
    def write(
        estimator: str = FOREST,
        extra: str = "",
        *,
        name: str = "cancer",
        source: str = "train.csv",
        cv_folds: int = 2,
        evaluation: str = "holdout = 0.3",
        filename: str = "pipeline.toml",
    ) -> Path:
        path = workdir / filename
        text = PIPELINE.format(
            name=name,
            source=source,
            estimator=estimator,
            extra=extra,
            cv_folds=cv_folds,
            evaluation=evaluation,
        )
        path.write_text(text)
        return path

    return write


LogWriter = Callable[..., list[str]]


def write_prediction_log(
    home: Path,
    model: str,
    version: str,
    features: pd.DataFrame,
    predictions: Any,
    *,
    start: datetime = T0,
    step: timedelta = timedelta(seconds=1),
    confidence: Any = None,
) -> list[str]:
    """Write rows as the server does; one request per row; return the request ids."""
    times = [start + step * index for index in range(len(features))]
    ids = [uuid.uuid4().hex for _ in range(len(features))]
    frame = features.reset_index(drop=True).copy()
    frame["ferry_request_id"] = ids
    frame["ferry_time"] = pd.to_datetime(times, utc=True).as_unit("us")
    frame["ferry_prediction"] = np.asarray(predictions)
    frame["ferry_confidence"] = (
        np.asarray(confidence, dtype=float) if confidence is not None else None
    )
    for day, group in frame.groupby(frame["ferry_time"].dt.date):
        folder = home / "predictions" / f"model={model}" / f"version={version}" / f"day={day}"
        _write(folder, group)
    return ids


def write_feedback(
    home: Path, model: str, ids: list[str], labels: Any, *, at: datetime = T0
) -> None:
    """Ground truth for earlier requests, as the server's ``POST /feedback`` stores it."""
    frame = pd.DataFrame(
        {
            "ferry_request_id": ids,
            "ferry_time": pd.to_datetime([at] * len(ids), utc=True).as_unit("us"),
            "label": np.asarray(labels),
        }
    )
    _write(home / "feedback" / f"model={model}" / f"day={at.date()}", frame)


def _write(folder: Path, frame: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    name = f"part-{uuid.uuid4().hex}.parquet"
    pq.write_table(table, folder / f".{name}.tmp")
    (folder / f".{name}.tmp").rename(folder / name)


@pytest.fixture
def prediction_log() -> Callable[..., list[str]]:
    return write_prediction_log


@pytest.fixture
def feedback_log() -> Callable[..., None]:
    return write_feedback


class Receiver:
    """A webhook receiver on 127.0.0.1: records JSON bodies, answers with queued statuses."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                receiver.hold.wait(timeout=10)
                receiver.bodies.append(body)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def kinds(self) -> list[str]:
        return [body["kind"] for body in self.bodies]

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()
