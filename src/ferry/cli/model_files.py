"""Reading a model file and an input-example file that a user brings to ``ferry register``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ferry.cli.tables import read_table
from ferry.errors import InvalidInput


def read_model(path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
    """Load a model file with the flavor its suffix names (a pickle only with ``trust_pickle``)."""
    if not path.is_file():
        raise InvalidInput(f"model file {str(path)!r} does not exist")
    from ferry.flavors import flavor_for_file

    return flavor_for_file(path).read(path, trust_pickle=trust_pickle, trusted=trusted)


def refuse_mlflow_folder(path: Path) -> None:
    """An MLflow model folder (or its MLmodel file) is pointed to ``ferry import mlflow``."""
    folder = path.parent if path.name == "MLmodel" else path
    if (folder / "MLmodel").is_file():
        raise InvalidInput(
            f"{str(path)!r} is an MLflow model: bring it in with "
            f"`ferry import mlflow {folder} --name NAME`, which keeps its signature, "
            "input example and run"
        )


def read_example(path: Path | None, model: Any) -> Any:
    """The input example from a file, or one zero row built from what the model declares."""
    from ferry.registry.schema import example_from_model

    if path is not None:
        return _read_example_file(path)
    try:
        return example_from_model(model)[0]
    except InvalidInput:
        raise InvalidInput(
            "cannot tell this model's inputs: pass --input-example FILE (.csv/.parquet/.json)"
        ) from None


def _read_example_file(path: Path) -> Any:
    import numpy as np
    import pandas as pd

    if not path.is_file():
        raise InvalidInput(f"input example {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return read_table(path)
    if suffix == ".json":
        data = json.loads(path.read_text())
        return (
            pd.DataFrame(data)
            if isinstance(data, list) and data and isinstance(data[0], dict)
            else data
        )
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    raise InvalidInput(f"input example {path.name}: use .csv, .parquet, .json or .npy")


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``["k=v", ...]`` into a dict; a pair without '=' is an error naming it."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {pair!r} must look like KEY=VALUE")
        parsed[key] = value
    return parsed
