"""The ferry demo: train, register, promote, roll back, serve and predict (embedded defaults).

Run it with ``./scripts/demo`` (it sets up its own virtual environment and FERRY_HOME).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def evaluate(model: object, X, y) -> dict[str, float]:  # type: ignore[no-untyped-def]
    predictions = model.predict(X)  # type: ignore[attr-defined]
    return {"accuracy": accuracy_score(y, predictions), "f1": f1_score(y, predictions)}


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    train = X_train.assign(target=y_train)
    train.attrs["name"] = "sklearn.datasets.load_breast_cancer"
    registry = Registry()
    console.rule(f"ferry demo — registry at {registry.settings.home}")

    first = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    v1 = registry.register(
        first, "cancer", input_example=X_test, metrics=evaluate(first, X_test, y_test),
        training_data=train, description="scaled logistic regression",
    )  # fmt: skip
    console.print(f"registered [bold]{v1.reference}[/] metrics={v1.metadata['performance']}")
    registry.set_alias("cancer", "production", v1.version, reason="first model")
    console.print(f"promoted   {v1.reference} to [bold]production[/]")

    second = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
    v2 = registry.register(
        second, "cancer", input_example=X_test, metrics=evaluate(second, X_test, y_test),
        training_data=train, description="random forest, 100 trees",
    )  # fmt: skip
    console.print(f"registered [bold]{v2.reference}[/] metrics={v2.metadata['performance']}")
    registry.set_alias("cancer", "production", v2.version, reason="challenger")
    console.print(f"promoted   {v2.reference} to [bold]production[/]")

    move = registry.rollback("cancer", "production", reason="demo: roll back")
    console.print(f"rolled back production: {move.from_version} -> {move.to_version}")

    live = registry.load("cancer@production")
    predictions = live.predict(X_test.head(5))
    console.print(
        f"cancer@production is {live.reference}; predictions for 5 rows: {predictions.tolist()}"
    )
    report = registry.verify()
    console.print(f"verify: {'ok' if report.ok else report.problems} ({report.files} files)")
    registry.close()

    ferry = str(Path(sys.executable).parent / "ferry")
    subprocess.run([ferry, "models", "versions", "cancer"], check=True)
    subprocess.run([ferry, "history", "cancer"], check=True)
    serve_and_predict(ferry, X_test.head(3))


def serve_and_predict(ferry: str, rows) -> None:  # type: ignore[no-untyped-def]
    """Start `ferry serve cancer@production`, predict, promote over HTTP, watch it swap."""
    import httpx

    console.rule("serving cancer@production")
    env = {**os.environ, "FERRY_POLL_INTERVAL": "0.2"}
    server = subprocess.Popen(
        [ferry, "serve", "cancer@production", "--port", str(PORT), "--log-level", "warning"],
        env=env,
    )
    url = f"http://127.0.0.1:{PORT}"
    try:
        started = time.perf_counter()
        while not _ready(url):
            time.sleep(0.05)
        health = httpx.get(f"{url}/model/health").json()["models"]["cancer"]
        console.print(
            f"ready in {time.perf_counter() - started:.2f} s: {health['version']} on the "
            f"{health['backend']} backend, loaded in {health['load_ms']:.0f} ms"
        )
        body = {"records": rows.to_dict(orient="records")}
        answer = httpx.post(f"{url}/predict", json=body).json()
        console.print(f"POST /predict -> {answer['predictions']} from version {answer['version']}")
        httpx.post(f"{url}/models/cancer/promote", json={"version": "1.1.0", "reason": "demo"})
        answer = httpx.post(f"{url}/predict", json=body).json()
        console.print(f"promoted 1.1.0 over HTTP; now answered by version {answer['version']}")
        metrics = httpx.get(f"{url}/metrics").text
        count = sum(1 for line in metrics.splitlines() if line.startswith("ferry_requests_total"))
        console.print(f"GET /metrics: {count} ferry_requests_total series")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
