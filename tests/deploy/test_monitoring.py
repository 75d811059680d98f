"""The Grafana dashboard and the alert rules, against the real thing.

promtool checks and unit-tests the rules; then a real Prometheus (Debian's ``prometheus``
package) on 127.0.0.1 scrapes a real ``ferry serve`` while the test sends it traffic, and every
dashboard panel's query and every alert expression must return data.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ferry import Registry
from ferry.training.runs import CheckRecord, RunStore

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "ferry.json"
FERRY = str(Path(sys.executable).parent / "ferry")
DASHBOARD_VARIABLES = {"$model": ".*", "$version": ".*", "$job": ".*", "$__rate_interval": "10s"}
FINAL_COMPARISON = re.compile(r"\s(==|!=|>=|<=|>|<)\s+([0-9.]+)\s*$")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: apt-get install prometheus (.ci/run does)")
    return found


def panels() -> list[dict[str, Any]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def panel_queries() -> dict[str, str]:
    """Each panel target's PromQL with the dashboard variables set to 'everything'."""
    queries = {}
    for panel in panels():
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in DASHBOARD_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries[f"panel {panel['title']!r} {target['refId']}"] = expr
    return queries


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alert_queries() -> dict[str, str]:
    """Each alert's expression with its final comparison made a ``bool`` one, so a healthy
    server still returns a value (0) for every series the alert watches."""
    queries = {}
    for rule in alert_rules():
        expr = " ".join(rule["expr"].split())
        assert FINAL_COMPARISON.search(expr), (
            f"{rule['alert']}: end the expression with a threshold"
        )
        queries[f"alert {rule['alert']}"] = FINAL_COMPARISON.sub(r" \1 bool \2", expr)
    return queries


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_unit_tests_pass() -> None:
    result = subprocess.run(
        [tool("promtool"), "test", "rules", "alerts.test.yml"],
        cwd=ALERTS.parent, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_cover_what_operators_are_paged_for() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert names == {
        "FerryModelNotReady", "FerryHighErrorRate", "FerryHighLatencyP99",
        "FerryLowConfidenceSurge", "FerryModelTooOld", "FerrySwapFailed", "FerryDriftDetected",
        "FerryPredictionLogWriteFailures",
    }  # fmt: skip
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert {"summary", "description"} <= rule["annotations"].keys()


def test_the_dashboard_covers_every_topic_and_is_laid_out() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    used = " ".join(panel_queries().values())
    for metric in (
        "ferry_requests_total", "ferry_request_duration_seconds_bucket", "ferry_model_ready",
        "ferry_model_load_duration_seconds", "ferry_model_warmup_mean_seconds",
        "ferry_model_cache_hits_total", "ferry_prediction_confidence_bucket",
        "ferry_low_confidence_total", "ferry_drift_share", "ferry_model_swaps_total",
        "ferry_model_age_seconds", "ferry_prediction_log_write_failures_total",
        "process_cpu_seconds_total", "process_resident_memory_bytes",
    ):  # fmt: skip
        assert metric in used, f"no panel shows {metric}"
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, f"{panel['title']} runs off the grid"
        mine = {
            (x, y)
            for x in range(box["x"], box["x"] + box["w"])
            for y in range(box["y"], box["y"] + box["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}" and panel["description"]


# -- end to end ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(
    check: Callable[[], list[str]], seconds: float, between: Callable[[], None]
) -> list[str]:
    """Run ``check`` until it reports no problem or time is up; returns the last problems."""
    deadline = time.monotonic() + seconds
    problems = check()
    while problems and time.monotonic() < deadline:
        between()
        time.sleep(0.5)
        problems = check()
    return problems


@pytest.fixture
def home(tmp_path: Path, pipeline: Any, cancer: Any) -> Path:
    """A registered classifier whose last monitor check found drift."""
    home = tmp_path / "home"
    with Registry(home=home) as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
        RunStore(registry.catalog).add_check(
            CheckRecord(
                model="cancer", pipeline="cancer.toml", checked_at="2026-03-01T12:00:00+00:00",
                source="predictions", window_start=None, window_end=None, consumed=True, rows=500,
                champion_version="1.0.0", drift=True, performance_drift=None, action="none",
                run_id=None, status="ok", summary={"drift_share": 0.25},
            )
        )  # fmt: skip
    return home


@pytest.fixture
def stack(tmp_path: Path, home: Path) -> Iterator[tuple[str, str]]:
    """A real ``ferry serve`` and Debian's Prometheus on 127.0.0.1 scraping it every second with
    ferry's rules; both start at once, and the fixture returns when the server is ready."""
    server_port, prometheus_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [{
                "job_name": "ferry",
                "static_configs": [{"targets": [f"127.0.0.1:{server_port}"]}],
            }],
        })
    )  # fmt: skip
    env = {**os.environ, "FERRY_HOME": str(home), "FERRY_LOG_FLUSH_SECONDS": "0.5"}
    commands = [
        ([FERRY, "serve", "cancer@production", "--port", str(server_port), "--log-level", "warning"], env),
        ([tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
          f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"], None),
    ]  # fmt: skip
    processes = [
        subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for command, environ in commands
    ]
    url = f"http://127.0.0.1:{server_port}"
    try:
        waiting = eventually(lambda: [] if _ready(url) else ["not ready"], 60, lambda: None)
        assert not waiting, "ferry serve did not get ready in 60 s"
        yield url, f"http://127.0.0.1:{prometheus_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready").status_code == 200
    except httpx.TransportError:
        return False


def _query(prometheus: str, expr: str) -> str | None:
    """None when ``expr`` returns at least one number; otherwise what it returned."""
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}).json()
    except (httpx.TransportError, ValueError) as error:  # still starting: no answer, or a 503
        return f"Prometheus not answering: {error}"
    if answer.get("status") != "success":
        return f"error: {answer.get('error')}"
    values = [float(item["value"][1]) for item in answer["data"]["result"]]
    if not any(not math.isnan(value) for value in values):
        return f"no data ({len(values)} series)"
    return None


def test_every_panel_and_alert_returns_data_from_a_real_prometheus(
    stack: tuple[str, str], cancer: Any
) -> None:
    served, prometheus = stack
    rows = cancer[0].head(8).to_numpy().tolist()
    client = httpx.Client(base_url=served)

    def traffic() -> None:
        for _ in range(3):
            assert client.post("/predict", json={"rows": rows}).status_code == 200
        client.post("/invocations", json={"inputs": rows})
        client.post("/predict", json={"rows": [[1.0]]})  # a 422

    queries = {**panel_queries(), **alert_queries()}

    def missing() -> list[str]:
        return [
            f"{name}: {problem}\n    {expr}"
            for name, expr in queries.items()
            if (problem := _query(prometheus, expr))
        ]

    with client:
        problems = eventually(missing, 60, traffic)
    assert problems == [], "\n".join(problems)
    rules = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"][0]["rules"]
    assert {rule["name"]: rule["health"] for rule in rules} == {
        rule["alert"]: "ok" for rule in alert_rules()
    }
    firing = httpx.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]
    assert [(a["labels"]["alertname"], a["labels"]["model"]) for a in firing] == [
        ("FerryDriftDetected", "cancer")
    ], "only the drift the monitor recorded should fire on a healthy server"
