"""The Helm chart's pod, run here as rendered: over a PostgreSQL catalog and S3 artifacts, and
as a baked image.

No cluster runs here. The tests render the chart with Helm's own SDK, resolve each container's
environment as the kubelet would (plain values, the chart's Secret, a Secret of the user's, the
pod's name), run the init container's ``ferry compile`` (when there is one), then the server,
and predict through it on 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import helm_python as helm
import httpx
import pytest
import yaml

from ferry import Registry
from ferry.config import storage_options

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "ferry"
FERRY = str(Path(sys.executable).parent / "ferry")
POD_NAME = "demo-ferry-7d9f-abcde"

Manifest = dict[str, Any]


def render(values: dict[str, Any]) -> list[Manifest]:
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name="demo", namespace="ml", is_install=True)
    return [doc for name, text in files.items() if name.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]  # fmt: skip


def kubelet_env(container: Manifest, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """A container's environment as the kubelet resolves it."""
    env = {}
    for item in container["env"]:
        source = item.get("valueFrom")
        if source is None:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            assert source == {"fieldRef": {"fieldPath": "metadata.name"}}
            env[item["name"]] = POD_NAME
    return env


def command(container: Manifest) -> list[str]:
    program, *rest = container["command"] + container.get("args", [])
    assert program == "ferry"
    return [FERRY, *("127.0.0.1" if arg == "0.0.0.0" else arg for arg in rest)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def registered(s3: Any, postgres_url: str, tmp_path: Path, pipeline: Any, cancer: Any) -> str:
    """A model registered from 'a laptop' into PostgreSQL and S3; returns the artifacts URL."""
    artifacts = f"s3://{s3.bucket}/chart-{uuid.uuid4().hex}"
    with Registry(home=tmp_path / "laptop", catalog=postgres_url, artifacts=artifacts) as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
    return artifacts


@pytest.fixture
def pod(registered: str, s3: Any, postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    values = {
        "model": "cancer@production",
        "catalog": {"url": postgres_url},
        "artifacts": {"url": registered, "s3": {
            "endpointUrl": s3.endpoint, "region": "us-east-1", "existingSecret": "ferry-s3"}},
        "logDir": f"{registered}-logs",
        "apiToken": {"value": "s3cret-token"},
        "registry": {"home": str(tmp_path / "pod-home")},
        "cache": {"mode": "shared", "path": str(tmp_path / "shared-cache")},
        "service": {"port": port},
        "settings": {"FERRY_LOG_FLUSH_SECONDS": "0.2", "FERRY_WARMUP_ITERATIONS": "2"},
    }  # fmt: skip
    manifests = render(values)
    secrets = {  # the chart's own Secret, and the one the user created for S3
        m["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in m["data"].items()}
        for m in manifests
        if m["kind"] == "Secret"
    }
    secrets["ferry-s3"] = {"AWS_ACCESS_KEY_ID": s3.key, "AWS_SECRET_ACCESS_KEY": s3.secret}
    spec = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    [init], [server] = spec["initContainers"], spec["containers"]
    # Nothing from this test's environment: the pod gets only what the chart gives it.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "AWS_"))}
    compiled = subprocess.run(
        command(init), env={**base, **kubelet_env(init, secrets)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    process = subprocess.Popen(
        [*command(server), "--log-level", "warning"], env={**base, **kubelet_env(server, secrets)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + server["readinessProbe"]["httpGet"]["path"], process)
        yield url, values["logDir"]
    finally:
        process.terminate()
        process.communicate(timeout=30)  # also closes its stderr pipe


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while not _answers(url):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the pod did not get ready in 90 s"
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgres
def test_the_chart_pod_serves_from_postgresql_and_s3(pod: tuple[str, str], cancer: Any) -> None:
    url, log_dir = pod
    health = httpx.get(f"{url}/model/health").json()["models"]["cancer"]
    assert health["version"] == "1.0.0"
    assert health["cache_hit"], "the server should load what the init container compiled"
    rows = cancer[0].head(5).to_numpy().tolist()
    answer = httpx.post(f"{url}/predict", json={"rows": rows})
    assert answer.status_code == 200 and answer.json()["version"] == "1.0.0"
    promote = httpx.post(f"{url}/models/cancer/promote", json={"version": "1.0.0"})
    assert promote.status_code == 401, "the API token from the chart's Secret guards admin routes"
    fs = fsspec.core.url_to_fs(log_dir, **storage_options(os.environ))[0]
    deadline = time.monotonic() + 30
    while not (written := [p for p in fs.find(log_dir.removeprefix("s3://")) if POD_NAME in p]):
        assert time.monotonic() < deadline, "no prediction-log file named after the pod on S3"
        time.sleep(0.2)
        fs.invalidate_cache()
    assert written


def test_the_chart_runs_a_baked_bundle_with_no_registry(
    tmp_path: Path, pipeline: Any, cancer: Any
) -> None:
    home = tmp_path / "home"
    with Registry(home=home) as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
    bundle = tmp_path / "bundle"
    baked = subprocess.run(
        [FERRY, "--home", str(home), "bake", "cancer@production", "--output", str(bundle)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert baked.returncode == 0, baked.stderr
    shutil.rmtree(home)  # the image carries the bundle; no registry exists where it runs
    port = free_port()
    values = {
        "bundle": str(bundle), "registry": {"home": str(tmp_path / "pod-home")},
        "cache": {"path": str(tmp_path / "cache")}, "service": {"port": port},
    }  # fmt: skip
    spec = next(m for m in render(values) if m["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert "initContainers" not in spec
    [server] = spec["containers"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "AWS_"))}
    process = subprocess.Popen(
        [*command(server), "--log-level", "warning"], env={**base, **kubelet_env(server, {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + server["readinessProbe"]["httpGet"]["path"], process)
        rows = cancer[0].head(3).to_numpy().tolist()
        answer = httpx.post(f"{url}/predict", json={"rows": rows})
        assert answer.status_code == 200 and answer.json()["version"] == "1.0.0"
    finally:
        process.terminate()
        process.communicate(timeout=30)
