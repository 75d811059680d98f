"""Serving speed: ``ferry serve`` against the FastAPI + joblib server users write today.

Run: ``.venv/bin/python benchmarks/serving.py [--duration 5]`` (needs ``wrk``: apt-get install wrk).
Measures, for a RandomForest(100) and a scaled LogisticRegression on the breast-cancer data:
cold start (spawn -> first answered prediction; ferry with a warm compile cache, as on any
restart), in-process model load, and req/s with p50/p99 at 1, 8 and 32 connections for 1-row and
100-row requests. Targets (2 cores): cold start <= 0.6 s and >= 3x faster than the baseline;
load <= 15 ms; 1-row RF at 32 connections >= 2,000 req/s, p99 <= 30 ms, >= 5x the baseline.
Also printed: ferry's start-up breakdown (``/model/health`` ``startup_ms``), the floor (python +
numpy + onnxruntime opening the compiled graph and answering once) and the ratio to it, and each
server's idle memory (RSS after its first answer). ``--startup-only`` skips the wrk runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import joblib
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(kind: str, model: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FERRY_HOME": str(home), "MODEL_PATH": str(home / f"{model}.joblib")}
    if kind == "ferry":
        command = [
            str(BIN / "ferry"),
            "serve",
            f"{model}@production",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    else:
        command = [
            str(BIN / "uvicorn"),
            "baseline_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    return subprocess.Popen(
        command, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def cold_start(
    kind: str, model: str, home: Path, body: dict[str, object]
) -> tuple[float, subprocess.Popen[bytes], int]:
    port = free_port()
    began = time.perf_counter()
    process = start(kind, model, home, port)
    with httpx.Client(timeout=5) as client:
        while True:
            try:
                if client.post(f"http://127.0.0.1:{port}/predict", json=body).status_code == 200:
                    return time.perf_counter() - began, process, port
            except httpx.HTTPError:
                pass
            time.sleep(0.002)


def wrk(
    port: int, body: dict[str, object], connections: int, duration: int
) -> tuple[float, float, float]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/predict"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    script.unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{out}")
    return rate, _latency(out, "50%"), _latency(out, "99%")


def _latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def rss_mb(pid: int) -> float:
    """A process's resident memory, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


FLOOR = """
import sys, json, hashlib
import numpy as np, onnxruntime as ort
data = open(sys.argv[1], "rb").read()
hashlib.sha256(data).hexdigest()
session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
rows = np.asarray(json.loads(sys.argv[2])["rows"], dtype=np.float32)
session.run(None, {session.get_inputs()[0].name: rows})
"""


def floor_seconds(home: Path, metadata: dict[str, Any], body: dict[str, object]) -> float:
    """Spawn to one answer with nothing but python, numpy and onnxruntime (no HTTP), on the
    graph ferry compiled for this version."""
    model_file = metadata["loader"]["file"]
    sha = next(a["sha256"] for a in metadata["artifacts"] if a["file"] == model_file)
    graph = next((home / "cache" / "compiled").glob(f"{sha}-*.onnx"))
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, str(graph), json.dumps(body)], check=True)
    return time.perf_counter() - began


def _breakdown(startup: dict[str, float]) -> str:
    return ", ".join(f"{phase} {ms:.0f}" for phase, ms in startup.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--startup-only", action="store_true", help="skip the wrk runs")
    arguments = parser.parse_args()
    duration = 0 if arguments.startup_only else arguments.duration
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    models = {
        "rf": RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y),
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y),
    }
    table = Table(title=f"serving on {os.cpu_count()} cores (ferry vs FastAPI + joblib baseline)")
    for column in ("model", "measure", "ferry", "baseline", "ferry / baseline"):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        registry = Registry(home=home)
        for name, model in models.items():
            registry.register(model, name, input_example=X)
            registry.set_alias(name, "production", "1.0.0")
            joblib.dump(model, home / f"{name}.joblib")
        loader = ModelLoader(registry, ModelCache(home / "cache"), ServingSettings(models=("x",)))
        for name in models:  # compile once, as an image build or an init container would
            subprocess.run(
                [str(BIN / "ferry"), "compile", f"{name}@production"],
                env={**os.environ, "FERRY_HOME": str(home)}, check=True, capture_output=True,
            )  # fmt: skip
            _measure(table, name, home, loader, registry, X, duration)
    Console(width=140).print(table)


def _measure(
    table: Table, name: str, home: Path, loader: ModelLoader, registry: Registry, X, duration: int
) -> None:  # type: ignore[no-untyped-def]
    one = {"rows": X.head(1).to_numpy().tolist()}
    hundred = {"rows": X.head(100).to_numpy().tolist()}
    version = registry.resolve(f"{name}@production")
    loads = []
    for _ in range(5):
        loads.append(loader.load(version).load_ms)  # opening the verified model
    started = time.perf_counter()
    joblib.load(home / f"{name}.joblib")
    baseline_load = (time.perf_counter() - started) * 1000
    table.add_row(
        name,
        "in-process load (ms)",
        f"{min(loads):.1f}",
        f"{baseline_load:.1f}",
        f"{min(loads) / baseline_load:.2f}x",
    )
    results: dict[str, dict[object, object]] = {}
    startup: dict[str, float] = {}
    for kind in ("ferry", "baseline"):
        cold, process, port = cold_start(kind, name, home, one)
        results[kind] = {"cold": cold, "rss": rss_mb(process.pid)}
        if kind == "ferry":
            health = httpx.get(f"http://127.0.0.1:{port}/model/health").json()
            startup = health["models"][name]["startup_ms"]
        try:
            for label, body in (("1 row", one), ("100 rows", hundred)):
                for connections in (1, 8, 32) if duration else ():
                    results[kind][(label, connections)] = wrk(port, body, connections, duration)
        finally:
            process.terminate()
            process.wait()
    f, b = results["ferry"], results["baseline"]
    floor = floor_seconds(home, version.metadata, one)
    table.add_row(
        name,
        "cold start (s)",
        f"{f['cold']:.2f}",
        f"{b['cold']:.2f}",
        f"{b['cold'] / f['cold']:.1f}x faster",  # type: ignore[operator]
    )
    table.add_row(name, "floor (s): python + numpy + onnxruntime session", f"{floor:.2f}", "",
                  f"ferry {f['cold'] / floor:.2f}x the floor")  # type: ignore[operator]  # fmt: skip
    table.add_row(name, "ferry start-up (ms)", _breakdown(startup), "", "")
    table.add_row(name, "idle memory (MB RSS)", f"{f['rss']:.0f}", f"{b['rss']:.0f}",
                  f"{f['rss'] / b['rss']:.2f}x")  # type: ignore[operator]  # fmt: skip
    for key in [k for k in f if k not in ("cold", "rss")]:
        (fr, f50, f99), (br, b50, b99) = f[key], b[key]
        table.add_row(
            name, f"{key[0]}, {key[1]} conn: req/s | p50 | p99 ms",
            f"{fr:,.0f} | {f50:.1f} | {f99:.1f}", f"{br:,.0f} | {b50:.1f} | {b99:.1f}", f"{fr / br:.1f}x",
        )  # fmt: skip


if __name__ == "__main__":
    main()
