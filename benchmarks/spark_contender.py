"""One in-memory drift contender of benchmarks/spark.py, run in its own (memory-watched) process.

Run by benchmarks/spark.py, not by hand: ``PYTHON spark_contender.py ferry|evidently REF CUR``
reads both Parquet folders whole with pandas (what a user without Spark does), runs the
detector and prints one JSON line: seconds to read, seconds to detect, the drifted columns.
``evidently`` runs under another interpreter (a separate venv), so this file imports neither
ferry nor Evidently at the top.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pandas as pd


def ferry_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """``DriftDetector().fit(reference).check(current)``: the drifted columns."""
    from ferry.drift import DriftDetector

    report = DriftDetector().fit(reference).check(current)
    return [feature.name for feature in report.drifted_features]


def evidently_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Evidently's DataDriftPreset (its own default tests per column): the drifted columns."""
    from evidently import Report  # type: ignore[import-not-found]
    from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]

    snapshot = Report([DataDriftPreset()]).run(current, reference)
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value, threshold = metric["value"], config["threshold"]
            is_p_value = "p_value" in config.get("method", "")
            if (value < threshold) if is_p_value else (value >= threshold):
                drifted.append(config["column"])
    return drifted


def main(kind: str, reference_path: str, current_path: str) -> None:
    started = time.perf_counter()
    frames = [pd.read_parquet(path).drop(columns=["id"]) for path in (reference_path, current_path)]
    read = time.perf_counter() - started
    detect = ferry_drift if kind == "ferry" else evidently_drift
    started = time.perf_counter()
    drifted = detect(*frames)
    result: dict[str, Any] = {
        "read_seconds": read,
        "seconds": time.perf_counter() - started,
        "drifted": drifted,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
