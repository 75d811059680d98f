"""The ferry demo on the embedded defaults (a folder + SQLite), in three acts.

1. Registry: train two models on a bundled dataset, register, promote, roll back, verify.
2. Serving: `ferry serve` answers predictions and swaps versions when an alias moves.
3. Continuous training: `ferry train` from a pipeline file, drifted traffic reaches the server,
   `ferry monitor` finds the drift, retrains, decides, and the server swaps to the new version.

Run it with ``./scripts/demo`` (it sets up its own virtual environment and FERRY_HOME).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from rich.console import Console
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry import Registry

console = Console()
PORT = int(os.environ.get("FERRY_DEMO_PORT", "8765"))
URL = f"http://127.0.0.1:{PORT}"
FERRY = str(Path(sys.executable).parent / "ferry")
PIPELINE = """
[model]
name = "tumor"
description = "breast-cancer classifier, retrained when its inputs drift"

[data]
source = "train.csv"
target = "target"

[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = { n_estimators = 50, random_state = 0 }

[evaluation]
holdout = 0.3
cv_folds = 3
primary_metric = "f1"

[promotion]
alias = "production"
significance = "none"

[drift]
current = "predictions"
min_rows = 50
"""


def evaluate(model: Any, X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    predictions = model.predict(X)
    return {
        "accuracy": round(float(accuracy_score(y, predictions)), 4),
        "f1": round(float(f1_score(y, predictions)), 4),
    }


def registry_act(X: pd.DataFrame, y: pd.Series) -> None:
    """Register two versions, promote both in turn, roll back, load and verify."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    train = X_train.assign(target=y_train)
    train.attrs["name"] = "sklearn.datasets.load_breast_cancer"
    with Registry() as registry:
        console.rule(f"1. registry at {registry.settings.home}")
        first = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
            X_train, y_train
        )
        second = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
        for model, description in (
            (first, "scaled logistic regression"),
            (second, "random forest"),
        ):
            version = registry.register(
                model, "cancer", input_example=X_test, metrics=evaluate(model, X_test, y_test),
                training_data=train, description=description,
            )  # fmt: skip
            console.print(
                f"registered [bold]{version.reference}[/] {version.metadata['performance']}"
            )
            registry.set_alias("cancer", "production", version.version, reason=description)
            console.print(f"promoted   {version.reference} to production")
        move = registry.rollback("cancer", "production", reason="demo: roll back")
        console.print(f"rolled back production: {move.from_version} -> {move.to_version}")
        live = registry.load("cancer@production")
        console.print(
            f"cancer@production = {live.reference}; 5 predictions: {live.predict(X_test.head(5)).tolist()}"
        )
        report = registry.verify()
        console.print(
            f"verify: {'ok' if report.ok else report.problems} ({report.files} files re-hashed)"
        )
    subprocess.run([FERRY, "history", "cancer"], check=True)


def serving_act(X: pd.DataFrame) -> None:
    """Serve cancer@production, predict, promote over HTTP and watch the swap."""
    console.rule("2. ferry serve cancer@production")
    with Server("cancer@production"):
        body = {"records": X.head(3).to_dict(orient="records")}
        answer = httpx.post(f"{URL}/predict", json=body).json()
        console.print(f"POST /predict -> {answer['predictions']} from version {answer['version']}")
        httpx.post(f"{URL}/models/cancer/promote", json={"version": "1.1.0", "reason": "demo"})
        answer = httpx.post(f"{URL}/predict", json=body).json()
        console.print(
            f"POST /models/cancer/promote 1.1.0 -> now answered by version {answer['version']}"
        )


def training_act(X: pd.DataFrame, y: pd.Series, workdir: Path) -> None:
    """Train from a pipeline file, serve, send drifted traffic, monitor, retrain, swap."""
    console.rule("3. continuous training: ferry train, serve, drift, ferry monitor")
    data = X.assign(target=y)
    data.sample(80, random_state=1).to_csv(workdir / "train.csv", index=False)
    pipeline = workdir / "pipeline.toml"
    pipeline.write_text(PIPELINE)
    first = run_json(FERRY, "train", str(pipeline), "--json")
    console.print(
        f"ferry train: {first['model']}:{first['version']} {first['decision']} ({first['reason']})"
    )
    with Server("tumor@production", "--pipeline", str(pipeline)):
        data.to_csv(workdir / "train.csv", index=False)  # labelled data has grown since
        drifted = X.sample(300, random_state=2)
        for column in ("mean radius", "mean perimeter", "mean area", "worst radius", "worst area"):
            drifted[column] = drifted[column] * 1.6
        for start in range(0, len(drifted), 50):
            records = drifted.iloc[start : start + 50].to_dict(orient="records")
            httpx.post(f"{URL}/predict", json={"records": records}).raise_for_status()
        console.print("sent 300 drifted rows to POST /predict (logged to the prediction log)")
        time.sleep(1.0)  # the log is written every FERRY_LOG_FLUSH_SECONDS
        result = run_json(FERRY, "monitor", str(pipeline), "--json")
        drifted_features = [f["name"] for f in result["report"]["features"] if f["drifted"]]
        console.print(
            f"ferry monitor: drift={result['drift']} ({len(drifted_features)} features: {drifted_features[:5]}), action={result['action']}"
        )
        run = result["run"]
        if run:
            console.print(
                f"retrained {run['model']}:{run['version']} -> {run['decision']}: {run['reason']}"
            )
            wait_for_version(
                "tumor", run["version"] if run["decision"] != "rejected" else first["version"]
            )
        answer = httpx.post(
            f"{URL}/predict", json={"records": X.head(2).to_dict(orient="records")}
        ).json()
        console.print(f"the server now answers with tumor:{answer['version']}")
    subprocess.run([FERRY, "runs", "tumor"], check=True)


class Server:
    """`ferry serve` in a subprocess for the length of a with-block."""

    def __init__(self, *args: str) -> None:
        self.args = args

    def __enter__(self) -> None:
        env = {**os.environ, "FERRY_POLL_INTERVAL": "0.2", "FERRY_LOG_FLUSH_SECONDS": "0.5"}
        command = [FERRY, "serve", *self.args, "--port", str(PORT), "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=env)
        started = time.perf_counter()
        while not ready():
            if self.process.poll() is not None:
                raise SystemExit("ferry serve exited; see its message above")
            time.sleep(0.05)
        health = next(iter(httpx.get(f"{URL}/model/health").json()["models"].values()))
        console.print(
            f"ready in {time.perf_counter() - started:.2f} s: version {health['version']} on the "
            f"{health['backend']} backend (loaded in {health['load_ms']:.0f} ms)"
        )

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def ready() -> bool:
    try:
        return httpx.get(f"{URL}/v2/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_version(model: str, version: str) -> None:
    for _ in range(600):
        health = httpx.get(f"{URL}/model/health").json()["models"][model]
        if health.get("version") == version:
            console.print(f"the server swapped to {model}:{version} ({health['last_swap']})")
            return
        time.sleep(0.1)


def run_json(*command: str) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    workdir = Path(os.environ.get("FERRY_HOME", ".ferry-demo")).resolve() / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    registry_act(X, y)
    serving_act(X)
    training_act(X, y, workdir)


if __name__ == "__main__":
    main()
