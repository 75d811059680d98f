"""Batch scoring of a CSV or Parquet file with a registered version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ferry.errors import InvalidInput
from ferry.registry.registry import Registry


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InvalidInput(f"input file {str(path)!r} does not exist")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise InvalidInput(f"cannot read {path.name}: use .csv or .parquet")


def score_file(registry: Registry, ref: str, source: Path, target: Path, chunk_rows: int) -> int:
    """Predict every row of ``source`` and write inputs' predictions to ``target``."""
    if target.suffix not in (".parquet", ".csv"):
        raise InvalidInput(f"cannot write {target.name}: use .parquet or .csv")
    if chunk_rows < 1:
        raise InvalidInput("--chunk-rows must be at least 1")
    model = registry.load(ref)
    frame = _read(source)
    schema = model.metadata["input_schema"]
    if schema["type"] == "dataframe":
        names = [column["name"] for column in schema["columns"]]
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise InvalidInput(
                f"{source.name} has no column {missing[0]!r}, which {model.reference} needs"
            )
        features: pd.DataFrame | np.ndarray = frame[names].astype(
            {c["name"]: c["dtype"] for c in schema["columns"]}
        )
    else:
        features = frame.to_numpy()
    predictions, probabilities = [], []
    columns = (
        TextColumn("scoring {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(model.reference, total=len(frame))
        for start in range(0, len(frame), chunk_rows):
            chunk = features[start : start + chunk_rows]
            predictions.append(model.predict(chunk))
            if model.has_predict_proba:
                probabilities.append(model.predict_proba(chunk).max(axis=1))
            progress.advance(task, len(chunk))
    result = pd.DataFrame({"prediction": np.concatenate(predictions) if predictions else []})
    if probabilities:
        result["confidence"] = np.concatenate(probabilities)
    result["model_version"] = model.version
    target.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(target, index=False) if target.suffix == ".parquet" else result.to_csv(
        target, index=False
    )
    return len(result)
