"""The registry, the server and the prediction log on a real S3 server (s3rver on 127.0.0.1).

Endpoint and credentials come from ferry's settings (``FERRY_S3_*``); no ``AWS_*`` variable is set.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import skops.io
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.config import ServingSettings, storage_options
from ferry.errors import IntegrityError
from ferry.logstore.store import LogStore
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer
from ferry.training.prediction_log import JOINED_LABEL, read_window


@pytest.fixture
def ferry_on_s3(s3, tmp_path, monkeypatch, pipeline, cancer):
    """FERRY_ARTIFACTS and FERRY_LOG_DIR in a fresh prefix of the bucket; a local catalog."""
    prefix = f"s3://{s3.bucket}/{uuid.uuid4().hex}"
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FERRY_ARTIFACTS", f"{prefix}/registry")
    monkeypatch.setenv("FERRY_LOG_DIR", f"{prefix}/logs")
    skops.io.dump(pipeline, tmp_path / "model.skops")
    cancer[0].head(20).to_csv(tmp_path / "example.csv", index=False)
    return prefix


def _ferry(*args: str, code: int = 0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def _s3fs(prefix: str):
    import fsspec

    return fsspec.core.url_to_fs(prefix, **storage_options(os.environ))[0]


def test_register_verify_and_a_tampered_object_refused(ferry_on_s3, tmp_path):
    registered = _ferry("register", str(tmp_path / "model.skops"), "--name", "cancer",
                        "--input-example", str(tmp_path / "example.csv"), "--json")  # fmt: skip
    location = json.loads(registered.stdout)["location"]
    assert location == f"{ferry_on_s3}/registry/models/cancer/v1.0.0"
    assert json.loads(_ferry("verify", "--json").stdout)["ok"]
    fs = _s3fs(ferry_on_s3)
    model_object = f"{location.removeprefix('s3://')}/model.skops"
    assert fs.exists(model_object)
    fs.pipe_file(model_object, b"tampered" + fs.cat_file(model_object))
    report = _ferry("verify", code=1)
    assert "sha256 mismatch" in report.stdout
    with Registry() as registry, pytest.raises(IntegrityError):
        registry.load("cancer:1.0.0")


@pytest.mark.anyio
async def test_serve_from_s3_with_the_prediction_log_on_s3(ferry_on_s3, tmp_path, cancer):
    _ferry("register", str(tmp_path / "model.skops"), "--name", "cancer",
           "--input-example", str(tmp_path / "example.csv"))  # fmt: skip
    _ferry("promote", "cancer:1.0.0", "--alias", "production")
    settings = ServingSettings.from_env(
        ("cancer@production",), {"FERRY_WARMUP_ITERATIONS": "2", "FERRY_REPLICA_ID": "pod-1"}
    )
    rows = cancer[0].head(3).to_numpy().tolist()
    with Registry() as registry:
        server = ModelServer(settings, registry)
        application = create_app(server)
        async with application.router.lifespan_context(application):
            await server.first_loads()
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
                answer = (await client.post("/predict", json={"rows": rows})).json()
                assert answer["version"] == "1.0.0" and len(answer["predictions"]) == 3
                label = {"request_id": answer["request_id"], "label": 1}
                assert (await client.post("/feedback", json=label)).json()["recorded"] is True
        block = server.health()["prediction_log"]
    assert block["location"] == f"{ferry_on_s3}/logs" and block["written"] == 3
    assert block["failures"] == 0 and block["dropped"] == 0
    log = LogStore(f"{ferry_on_s3}/logs", storage_options(os.environ))
    window = read_window(log, "cancer", None, datetime.now(UTC))
    assert window.rows == 3 and window.frame[JOINED_LABEL].tolist() == [1, 1, 1]
    assert all("/part-pod-1-" in file.path for file in log.files())
    pruned = json.loads(_ferry("retain", "--logs", "--max-bytes", "0", "--json").stdout)
    assert pruned["removed_files"] == 2 and pruned["kept_files"] == 0
    assert log.files() == []
