"""``ferry serve`` as a real process: cold start, tritonclient, MLflow, hot swap under load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from sklearn.datasets import load_breast_cancer

pytestmark = pytest.mark.slow


@pytest.fixture
def home(sqlite_registry, pipeline, forest, cancer):
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    sqlite_registry.register(forest, "cancer", input_example=cancer[0])
    sqlite_registry.set_alias("cancer", "production", "1.0.0")
    return sqlite_registry


def test_cold_start_answers_and_protocols_work(start_server, home, pipeline, cancer):
    began = time.perf_counter()
    server = start_server(home.settings.home, "cancer@production")
    server.wait_for("ready: cancer@production as cancer:1.0.0")
    rows = cancer[0].head(2).to_numpy()
    answer = httpx.post(f"{server.url}/predict", json={"rows": rows.tolist()}).json()
    assert answer["predictions"] == pipeline.predict(cancer[0].head(2)).tolist()
    assert time.perf_counter() - began < 30
    mlflow = httpx.post(
        f"{server.url}/invocations",
        json={"dataframe_records": cancer[0].head(2).to_dict(orient="records")},
    )
    assert mlflow.json() == {k: answer[k] for k in ("predictions", "probabilities")}

    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("cancer")
    assert client.get_model_metadata("cancer")["versions"] == ["1.0.0"]
    tensor = triton.InferInput("input-0", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows.astype(np.float32), binary_data=False)
    outputs = [
        triton.InferRequestedOutput(name, binary_data=False)
        for name in ("predict", "predict_proba")
    ]
    result = client.infer("cancer", [tensor], outputs=outputs)
    assert result.as_numpy("predict").tolist() == answer["predictions"]
    np.testing.assert_allclose(result.as_numpy("predict_proba"), answer["probabilities"], atol=1e-6)
    binary = triton.InferInput("input-0", list(rows.shape), "FP32")
    binary.set_data_from_numpy(rows.astype(np.float32), binary_data=True)
    raw = client.infer(
        "cancer", [binary], outputs=[triton.InferRequestedOutput("predict", binary_data=True)]
    )
    assert raw.as_numpy("predict").tolist() == answer["predictions"]
    with pytest.raises(triton.InferenceServerException, match="takes 30"):
        bad = triton.InferInput("input-0", [1, 3], "FP32")
        bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32), binary_data=False)
        client.infer("cancer", [bad])


def test_hot_swap_under_load_fails_no_request(start_server, home, cancer):
    server = start_server(home.settings.home, "cancer@production")
    server.wait_for("ready: cancer@production as cancer:1.0.0")
    body = {"rows": cancer[0].head(1).to_numpy().tolist()}
    stop, failures, answered, versions = threading.Event(), [], [0], set()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(20_000):
                if stop.is_set():
                    return
                response = client.post("/predict", json=body)
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    answered[0] += 1
                    versions.add(response.json()["version"])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for move in range(10):
            target = "1.1.0" if move % 2 == 0 else "1.0.0"
            home.set_alias("cancer", "production", target)
            server.wait_for(f"-> {target}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert answered[0] > 100 and versions == {"1.0.0", "1.1.0"}
    health = httpx.get(f"{server.url}/model/health").json()["models"]["cancer"]
    assert health["version"] == "1.0.0" and health["last_swap"]["result"] == "swapped"


def test_a_corrupt_target_is_refused_by_a_running_server(start_server, home, pipeline, cancer):
    broken = home.register(pipeline, "cancer", input_example=cancer[0])
    path = home.settings.home / "models" / "cancer" / f"v{broken.version}" / "model.skops"
    path.write_bytes(path.read_bytes()[:-4] + b"oops")
    server = start_server(home.settings.home, "cancer@production")
    server.wait_for("ready: cancer@production")
    _move_alias_unverified(home, "cancer", "production", broken.version)
    server.wait_for(f"refused cancer:{broken.version}")
    answer = httpx.post(
        f"{server.url}/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()}
    )
    assert answer.status_code == 200 and answer.json()["version"] == "1.0.0"
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200


def test_several_workers_share_one_metrics_view(start_server, home, cancer):
    server = start_server(home.settings.home, "cancer@production", "--workers", "2")
    server.wait_for("ready: cancer@production")
    server.wait_for("ready: cancer@production")
    body = {"rows": cancer[0].head(1).to_numpy().tolist()}
    with httpx.Client(base_url=server.url) as client:
        for _ in range(20):
            assert client.post("/predict", json=body).status_code == 200
        metrics = client.get("/metrics").text
    line = next(
        line for line in metrics.splitlines()
        if line.startswith('ferry_requests_total{model="cancer",protocol="plain",status="200",variant="primary",version="1.0.0"}')
    )  # fmt: skip
    assert float(line.split()[-1]) == 20.0


FEATURES = list(load_breast_cancer().feature_names)
BAD_REQUESTS = [
    ("/predict", {"records": [{"mean radius": 1.0}]}, 422, "missing feature 'mean texture'"),
    ("/predict", {"records": [{"unknown": 1.0}]}, 422, "record 0 is missing feature"),
    ("/predict", {"rows": [["x"] * 30]}, 422, "must be a number, got 'x'"),
    ("/predict", {"rows": [[None] * 30]}, 422, "is null"),
    ("/predict", {"rows": [[1.0, 2.0]]}, 422, "row 0 has 2 values"),
    ("/predict", {"rows": []}, 422, "the batch is empty"),
    ("/predict", b"{oops", 422, "malformed JSON"),
    ("/predict", b"[" + b"1," * 600_000 + b"1]", 413, "limit"),
    ("/predict", {"rows": [[0.0] * 30], "model": "ghost"}, 404, "not served here"),
    ("/invocations", {"instances": [[1.0]]}, 400, "row 0 has 1 values"),
    (
        "/v2/models/cancer/infer",
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]},
        400,
        "takes 30",
    ),
    ("/v2/models/ghost/infer", {"inputs": []}, 404, "not served here"),
    # valid JSON of the wrong shape: once 500s with a traceback in the log
    ("/predict", {"rows": [[[v] for v in [17.99, 10.38] * 15]]}, 422, "got [17.99]"),
    ("/predict", {"records": {"a": 1}}, 422, "'records' must be a list of records"),
    ("/invocations", {"dataframe_records": [{name: [1.0] for name in FEATURES}]}, 400, "got [1.0]"),
    ("/invocations", {"instances": 5}, 400, "'instances' must be a list of rows"),
    (
        "/v2/models/cancer/infer",
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [3, 6148914691236517206],
                    "datatype": "FP32",
                    "data": [1.0, 2.0],
                }
            ]
        },
        400,
        "do not fill shape",
    ),
    ("/v2/models/a%2Fb/infer", {"inputs": []}, 404, "encoded '/'"),
]


def test_every_bad_input_gets_a_4xx_from_a_real_server(start_server, home):
    server = start_server(home.settings.home, "cancer@production", FERRY_MAX_BODY_BYTES="1000000")
    server.wait_for("ready: cancer@production")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path, body, status, message in BAD_REQUESTS:
            content = body if isinstance(body, bytes) else None
            response = client.post(
                path, content=content, json=None if content is not None else body
            )
            assert response.status_code == status, (
                path,
                body if content is None else content[:20],
                response.text,
            )
            assert message in response.text
            assert response.headers["content-type"] == "application/json"
        assert client.get("/v2/health/ready").status_code == 200
    server.process.terminate()
    assert server.process.stderr is not None
    assert "Traceback" not in server.process.stderr.read()


def _move_alias_unverified(registry, name, alias, version):
    """Move an alias the way a catalog edited by hand would: ``set_alias`` verifies the target
    and would refuse this damaged one before the server ever saw it."""
    from ferry.registry.catalog import utcnow
    from ferry.registry.catalog_session import AliasMove

    with registry.catalog.writing(name) as session:
        current = session.alias_target(name, alias)
        session.move_alias(name, AliasMove(alias, "set", current, version, utcnow(), "test", None))


def test_a_baked_bundle_serves_after_the_registry_is_deleted(
    start_server, home, tmp_path, pipeline, cancer
):
    bundle = tmp_path / "bundle"
    subprocess.run(
        [str(Path(sys.executable).parent / "ferry"), "bake", "cancer@production", "--output", str(bundle)],
        env={**os.environ, "FERRY_HOME": str(home.settings.home)}, check=True,
        capture_output=True,
    )  # fmt: skip
    home.close()
    shutil.rmtree(home.settings.home)
    server = start_server(tmp_path / "elsewhere", FERRY_BUNDLE=str(bundle))  # as the image does
    line = server.wait_for("ready: cancer:1.0.0")
    assert "onnx backend" in line and "cache hit" in line
    rows = cancer[0].head(3)
    answer = httpx.post(f"{server.url}/predict", json={"rows": rows.to_numpy().tolist()}).json()
    assert answer["predictions"] == pipeline.predict(rows).tolist()
    assert not home.settings.home.exists()
