"""``ferry serve`` as a real process: what a start from a warm cache imports before it answers."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app

FERRY = str(Path(sys.executable).parent / "ferry")
HEAVY = (
    "sklearn",
    "pandas",
    "pyarrow",
    "sqlalchemy",
    "typer",
    "rich",
    "scipy",
    "fsspec",
    "websockets",
)
FLAVOR_MODULES = ("sklearn", "sklearn_onnx", "xgboost", "lightgbm", "boosted", "torch", "sentences")
"""Flavor modules a start from the compiled cache never needs (``flavors.onnx`` and
``flavors.tasks`` answer)."""


@pytest.fixture
def compiled_home(tmp_path, monkeypatch, forest, cancer) -> Path:
    """A registry whose production forest ``ferry compile`` has prepared."""
    home = tmp_path / "home"
    with Registry(home=home) as registry:
        registry.register(forest, "cancer", input_example=cancer[0].head(5))
        registry.set_alias("cancer", "production", "1.0.0")
    monkeypatch.setenv("FERRY_HOME", str(home))
    result = CliRunner().invoke(app, ["compile", "cancer@production"])
    assert result.exit_code == 0, result.stderr
    monkeypatch.delenv("FERRY_HOME")
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _first_prediction(url: str, row: list[float], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.post(f"{url}/predict", json={"rows": [row]}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.01)  # polling a real process for readiness, not waiting on time
    raise AssertionError(f"no prediction (exit code {process.poll()})")


def test_a_cached_start_answers_before_importing_what_serving_does_not_need(compiled_home, cancer):
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if k != "FERRY_HOME"}
    environ["FERRY_POLL_INTERVAL"] = "3600"  # the catalog check comes later than this test looks
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", FERRY, "--home", str(compiled_home), "serve",
         "cancer@production", "--port", str(port), "--log-level", "warning"],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _first_prediction(f"http://127.0.0.1:{port}", cancer[0].iloc[0].tolist(), process)
    finally:
        process.kill()
        _, stderr = process.communicate(timeout=30)
    modules = {
        match.group(1)
        for match in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", stderr, re.M)
    }
    imported = {module.split(".")[0] for module in modules}
    assert {"onnxruntime", "starlette", "uvicorn", "ferry"} <= imported  # the parse sees imports
    assert sorted(imported & set(HEAVY)) == []
    assert sorted(modules & {f"ferry.flavors.{name}" for name in FLAVOR_MODULES}) == []
    assert "ferry.serving.app" in modules  # the OpenAPI schemas wait for GET /openapi.json
    assert sorted(m for m in modules if m.startswith("ferry.serving.openapi")) == []


def test_ferry_serve_reports_a_bad_argument_in_one_line(tmp_path):
    process = subprocess.run(
        [FERRY, "--home", str(tmp_path), "serve", "cancer@production", "--pipeline",
         str(tmp_path / "missing.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert process.returncode == 1
    assert process.stderr.strip().splitlines() == [
        f"error: pipeline file {str(tmp_path / 'missing.toml')!r} does not exist"
    ]


@pytest.mark.parametrize("given", ["0", "fast"])
def test_ferry_serve_names_a_bad_switch_interval(tmp_path, given):
    process = subprocess.run(
        [FERRY, "--home", str(tmp_path), "serve", "cancer@production"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "FERRY_SWITCH_INTERVAL_MS": given},
    )  # fmt: skip
    assert process.returncode == 1
    assert process.stderr.strip().splitlines() == [
        f"error: FERRY_SWITCH_INTERVAL_MS must be a number of milliseconds above 0, got {given!r}"
    ]


def test_ferry_serve_help_is_the_full_help():
    process = subprocess.run([FERRY, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert process.returncode == 0 and "--pipeline FILE" in process.stdout


def test_compile_records_the_resolution_a_server_starts_from(compiled_home):
    records = list((compiled_home / "cache" / "resolved").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["reference"] == "cancer@production"
    assert record["version"]["version"] == "1.0.0"
    assert "sqlite" not in records[0].read_text()  # the catalog's URL (maybe a password) is hashed
