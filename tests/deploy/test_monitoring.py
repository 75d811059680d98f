"""The Grafana dashboard and the alert rules, against the real thing.

promtool checks and unit-tests the rules; then the chart's pod is run here as rendered (its
``ferry compile`` init container, then ``ferry serve``), a real Prometheus (Debian's
``prometheus`` package) on 127.0.0.1 scrapes it while the test sends it traffic, and every
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rendered_chart import Manifest, env_of, one, render_chart

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


@dataclass(frozen=True)
class ChartPod:
    """The chart's server pod, run on this machine: its init container's and its server's
    commands and environment exactly as rendered, but listening on 127.0.0.1 only."""

    compile: list[str]
    serve: list[str]
    env: dict[str, str]
    readiness: str
    liveness: str


def chart_pod(home: Path, cache: Path, port: int) -> ChartPod:
    values = {
        "model": "cancer@production", "registry": {"home": str(home)},
        "cache": {"path": str(cache)}, "service": {"port": port},
        "settings": {"FERRY_LOG_FLUSH_SECONDS": "0.5"},
    }  # fmt: skip
    pod = one(render_chart(values), "Deployment")["spec"]["template"]["spec"]
    [init], [server] = pod["initContainers"], pod["containers"]

    def command(container: Manifest) -> list[str]:
        program, *rest = container["command"] + container.get("args", [])
        assert program == "ferry"
        return [FERRY, *("127.0.0.1" if arg == "0.0.0.0" else arg for arg in rest)]

    env = {name: value for name, value in env_of(server).items() if isinstance(value, str)}
    assert env_of(init).items() <= env_of(server).items(), "both containers see one registry"
    env["FERRY_REPLICA_ID"] = "demo-ferry-0"  # the downward API's pod name
    return ChartPod(
        command(init), command(server), env,
        server["readinessProbe"]["httpGet"]["path"], server["livenessProbe"]["httpGet"]["path"],
    )  # fmt: skip


@pytest.fixture
def stack(tmp_path: Path, home: Path) -> Iterator[tuple[str, str]]:
    """The chart's pod run here (init container, then server) and Debian's Prometheus on
    127.0.0.1 scraping it every second with ferry's rules; returns once the pod is ready."""
    server_port, prometheus_port = free_port(), free_port()
    pod = chart_pod(home, tmp_path / "cache", server_port)
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
    environ = {**os.environ, **pod.env}
    processes = [
        subprocess.Popen(
            [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    url = f"http://127.0.0.1:{server_port}"
    try:
        compiled = subprocess.run(
            pod.compile, env=environ, capture_output=True, text=True, check=False
        )
        assert compiled.returncode == 0, compiled.stderr
        processes.append(
            subprocess.Popen([*pod.serve, "--log-level", "warning"], env=environ,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )  # fmt: skip
        waiting = eventually(
            lambda: [] if _ok(url + pod.readiness) else ["not ready"], 60, lambda: None
        )
        assert not waiting, "the server did not get ready in 60 s"
        assert _ok(url + pod.liveness)
        health = httpx.get(f"{url}/model/health").json()["models"]["cancer"]
        assert health["cache_hit"], "the server should load what the init container compiled"
        yield url, f"http://127.0.0.1:{prometheus_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
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
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = dict(
                zip(queries, pool.map(partial(_query, prometheus), queries.values()), strict=True)
            )
        return [
            f"{name}: {answers[name]}\n    {queries[name]}" for name in queries if answers[name]
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
