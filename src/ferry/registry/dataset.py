"""Fingerprints of training data: name, sha256, rows and columns.

The hash is over the data's values (pandas' stable row hashing) rather than a file's bytes,
so the same data read from CSV or Parquet has the same fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput
from ferry.frames import to_pandas

_FINGERPRINT_KEYS = {"name", "sha256", "rows", "columns"}


def fingerprint(data: Any) -> dict[str, Any] | None:
    """Describe training data given as a pandas or polars frame, an array, a file path or a
    ready mapping."""
    if data is None:
        return None
    if isinstance(data, Mapping):
        return _from_mapping(data)
    if isinstance(data, str | Path):
        return _from_file(Path(data))
    data = to_pandas(data)
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data.reshape(len(data), -1))
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(
            "training_data must be a DataFrame, an array, a file path or a mapping with "
            f"{sorted(_FINGERPRINT_KEYS)}; got {type(data).__name__}"
        )
    return _from_frame(data)


def _from_frame(data: pd.DataFrame) -> dict[str, Any]:
    return {
        "name": str(data.attrs.get("name", "dataframe")),
        "sha256": frame_sha256(data),
        "rows": len(data),
        "columns": [str(column) for column in data.columns],
    }


def frame_sha256(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and pandas' per-row hashes."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _from_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(data) - _FINGERPRINT_KEYS
    if unknown:
        raise InvalidInput(
            f"unknown training_data keys {sorted(unknown)}; allowed: {sorted(_FINGERPRINT_KEYS)}"
        )
    return {key: data.get(key) for key in sorted(_FINGERPRINT_KEYS)}


def _from_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInput(f"training_data file {str(path)!r} does not exist")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix == ".csv":
        frame = pd.read_csv(path)
    else:
        with path.open("rb") as handle:
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
        return {"name": path.name, "sha256": sha, "rows": None, "columns": None}
    frame.attrs["name"] = path.name
    return _from_frame(frame)
