"""Registry speed: register, resolve and load, against pickles in a folder.

Run: ``.venv/bin/python benchmarks/registry.py [--repeat N]``. The baseline is what users
write today: ``joblib.dump`` into a folder and ``joblib.load`` back (no metadata, no hashes,
no versions, no concurrency safety). Targets: registering the small pipeline <= 50 ms median;
resolving and loading it in-process <= 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferry import Registry


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls, after one warm-up call."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(samples):.1f} / {p95:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30)
    repeat = parser.parse_args().repeat
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    models = {
        "LogisticRegression pipeline": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)
        ).fit(X, y),
        "RandomForest(100)": RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y),
    }
    table = Table(title=f"registry, ms median / p95 over {repeat} runs (2-core machine)")
    for column in ("model", "operation", "ferry", "baseline: joblib in a folder", "target"):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(home=Path(tmp) / "ferry")
        folder = Path(tmp) / "pickles"
        folder.mkdir()
        for label, model in models.items():
            name = "rf" if "Forest" in label else "lr"
            small = name == "lr"
            n = repeat if small else max(5, repeat // 5)
            reg = timed(lambda m=model, k=name: registry.register(m, k, input_example=X), n)
            dump = timed(lambda m=model, k=name: joblib.dump(m, folder / f"{k}.joblib"), n)
            table.add_row(label, "register", summary(reg), summary(dump), "<= 50" if small else "")
            res = timed(lambda k=name: registry.resolve(k), n)
            table.add_row(label, "resolve", summary(res), "-", "")
            registry.set_alias(name, "production", registry.resolve(name).version)
            load = timed(lambda k=name: registry.load(f"{k}@production"), n)
            base = timed(lambda k=name: joblib.load(folder / f"{k}.joblib"), n)
            table.add_row(
                label, "resolve + load", summary(load), summary(base), "<= 20" if small else ""
            )
        registry.close()
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
