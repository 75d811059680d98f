"""Batch scoring of a CSV or Parquet file with a registered version.

The output carries the input's own columns that are not features (ids such as ``customer_id``,
dates, labels), so each prediction can be joined back to what it is about; ``--keep`` picks the
carried columns instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ferry.cli.tables import read_table
from ferry.errors import InvalidInput
from ferry.registry.loaded import LoadedModel
from ferry.registry.registry import Registry

OUTPUT_COLUMNS = ("prediction", "confidence", "model_version")
"""What scoring adds to each row; an input column of the same name would be overwritten."""

WRITABLE_SUFFIXES = (".parquet", ".csv")


def score_file(
    registry: Registry,
    ref: str,
    source: Path,
    target: Path,
    chunk_rows: int,
    keep: Sequence[str] | None = None,
) -> int:
    """Predict every row of ``source`` and write the kept columns and predictions to ``target``.

    ``keep`` names the input columns to carry into the output; ``None`` carries every column
    that is not a feature of the model.
    """
    if target.suffix not in WRITABLE_SUFFIXES:
        raise InvalidInput(f"cannot write {target.name}: use .parquet or .csv")
    if chunk_rows < 1:
        raise InvalidInput("--chunk-rows must be at least 1")
    model = registry.load(ref, compat="off")  # the command compared it (FERRY_COMPAT) already
    frame = read_table(source)
    features, names = _features(model, frame, source.name)
    carried = _carried(frame, names, keep, source.name)
    scores = _predict(model, features, chunk_rows)
    result = pd.concat([carried.reset_index(drop=True), scores], axis=1)
    result["model_version"] = model.version
    _write(result, target)
    return len(result)


def _features(
    model: LoadedModel, frame: pd.DataFrame, source: str
) -> tuple[pd.DataFrame | np.ndarray, list[str]]:
    """The model's inputs from ``frame``, and the names of the columns they came from."""
    schema = model.metadata["input_schema"]
    if schema["type"] != "dataframe":
        return frame.to_numpy(), [str(name) for name in frame.columns]
    names = [column["name"] for column in schema["columns"]]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InvalidInput(f"{source} has no column {missing[0]!r}, which {model.reference} needs")
    dtypes = {column["name"]: column["dtype"] for column in schema["columns"]}
    return frame[names].astype(dtypes), names


def _carried(
    frame: pd.DataFrame, features: list[str], keep: Sequence[str] | None, source: str
) -> pd.DataFrame:
    """The input columns the output keeps: ``keep``, or every column that is not a feature."""
    if keep is None:
        taken = set(features)
        chosen = [name for name in frame.columns if str(name) not in taken]
    else:
        unknown = [name for name in keep if name not in frame.columns]
        if unknown:
            raise InvalidInput(
                f"--keep {unknown[0]!r}: {source} has no such column; it has "
                f"{[str(name) for name in frame.columns]}"
            )
        chosen = list(dict.fromkeys(keep))
    clashes = [name for name in chosen if name in OUTPUT_COLUMNS]
    if clashes:
        raise InvalidInput(
            f"{source} has a column {clashes[0]!r}, which the output uses for its own values: "
            "rename it, or pass --keep with the columns to carry over"
        )
    return frame[chosen]


def _predict(
    model: LoadedModel, features: pd.DataFrame | np.ndarray, chunk_rows: int
) -> pd.DataFrame:
    """Predictions (a transformer's vectors) and confidence (the top class probability, a
    clusterer's confidence), chunk by chunk, with a progress bar."""
    predictions: list[np.ndarray] = []
    confidence: list[np.ndarray] = []
    columns = (
        TextColumn("scoring {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(model.reference, total=len(features))
        for start in range(0, len(features), chunk_rows):
            chunk = features[start : start + chunk_rows]
            answer = model.outputs(chunk)
            vectors = answer.outputs
            if vectors is not None:
                predictions.append(_one_list_per_row(vectors))
            elif answer.predictions is not None:
                predictions.append(answer.predictions)
            sureness = answer.row_confidence()  # a classifier's top probability, a clusterer's
            if sureness is not None:
                confidence.append(sureness)
            progress.advance(task, len(chunk))
    scores = pd.DataFrame({"prediction": np.concatenate(predictions) if predictions else []})
    if confidence:
        scores["confidence"] = np.concatenate(confidence)
    return scores


def _one_list_per_row(vectors: np.ndarray) -> np.ndarray:
    """A transformer's output as one column: each row's vector as a list (Parquet keeps it as
    a list column, CSV as its JSON-like text)."""
    column = np.empty(len(vectors), dtype=object)
    for index, vector in enumerate(vectors.tolist()):
        column[index] = vector
    return column


def _write(result: pd.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".parquet":
        result.to_parquet(target, index=False)
    else:
        result.to_csv(target, index=False)
