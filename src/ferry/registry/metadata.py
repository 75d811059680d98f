"""``metadata.json``: everything known about a version, assembled at registration."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, Flavor, SavedModel
from ferry.flavors.declared import Declared
from ferry.flavors.tasks import Outputs
from ferry.registry.artifacts import EXAMPLE_FILE
from ferry.registry.dataset import fingerprint
from ferry.registry.environment import python_version
from ferry.registry.schema import output_schema_of, schema_of, shape_of

FORMAT_VERSION = 1


def draft_metadata(
    *,
    name: str,
    saved: SavedModel,
    flavor: Flavor,
    model: Any,
    example: pd.DataFrame | np.ndarray,
    series: bool,
    declared: Declared | None = None,
    metrics: Mapping[str, float] | None,
    params: Mapping[str, Any] | None,
    training_data: Any,
    description: str,
    tags: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Everything but the version-specific keys, which are added inside the catalog lock."""
    described, outputs, series = _describe(flavor, model, example, series, declared)
    input_schema = schema_of(example)
    if series:
        input_schema["series"] = True
    return {
        "format_version": FORMAT_VERSION,
        "model_name": name,
        "flavor": flavor.name,
        "framework": saved.framework,
        "framework_version": saved.framework_version,
        "serialization": saved.serialization,
        "python_version": python_version(),
        "dependencies": saved.dependencies,
        "input_schema": input_schema,
        "input_shape": shape_of(input_schema),
        "input_example": EXAMPLE_FILE,
        "output_schema": output_schema_of(described, outputs),
        "performance": check_metrics(metrics),
        "hyperparameters": dict(params) if params is not None else saved.hyperparameters,
        "training_dataset": fingerprint(training_data),
        "description": _check_text(description),
        "tags": check_tags(tags),
        "loader": saved.loader,
    }


def encode_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Stable, readable JSON: sorted keys, two-space indent."""
    try:
        return (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"metadata is not JSON: {error} (check params and tags)") from None


def _describe(
    flavor: Flavor,
    model: Any,
    example: pd.DataFrame | np.ndarray,
    series: bool,
    declared: Declared | None,
) -> tuple[Description, Outputs, bool]:
    """Run the model on its own example: its task and outputs, and proof that the two fit.

    A one-column frame that a model answers with the wrong number of rows is tried as a
    Series: text pipelines (TfidfVectorizer first) take one string per row, not a frame.
    """
    probe = example if len(example) > 1 else _twice(example)  # one row hides a miscount
    described = _run(flavor, model, _as_input(probe, series), declared)
    if described[1].rows != len(probe) and not series and _one_column(probe):
        retried = _run(flavor, model, _as_input(probe, True), declared)
        if retried[1].rows == len(probe):
            return *retried, True
    if described[1].rows != len(probe):
        raise InvalidInput(
            f"the model answered {described[1].rows} rows for the {len(probe)} rows of "
            "input_example; ferry serves one row out per row in. A text model takes one "
            "string per row: pass input_example as a pandas Series (or one text column)"
        )
    return *described, series


def _run(
    flavor: Flavor, model: Any, example: Any, declared: Declared | None
) -> tuple[Description, Outputs]:
    try:
        return flavor.describe(model, example, declared)
    except (InvalidInput, Unsupported):
        raise
    except Exception as error:
        raise InvalidInput(
            f"the model cannot predict on input_example ({type(error).__name__}: {error}); "
            "pass an example shaped like the training data"
        ) from None


def _as_input(example: pd.DataFrame | np.ndarray, series: bool) -> Any:
    return example.iloc[:, 0] if series and isinstance(example, pd.DataFrame) else example


def _twice(example: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    if isinstance(example, pd.DataFrame):
        return pd.concat([example, example], ignore_index=True)
    return np.concatenate([example, example])


def _one_column(example: pd.DataFrame | np.ndarray) -> bool:
    return isinstance(example, pd.DataFrame) and example.shape[1] == 1


def check_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    """Metrics must be finite numbers keyed by name."""
    checked: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"metric names must be non-empty strings, got {key!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise InvalidInput(f"metric {key!r} must be finite, got {value!r}")
        checked[key] = number
    return checked


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tags are short string pairs."""
    checked: dict[str, str] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInput(f"tags must map strings to strings, got {key!r}: {value!r}")
        checked[key] = value
    return checked


def _check_text(description: str) -> str:
    if not isinstance(description, str):
        raise InvalidInput(f"description must be a string, got {type(description).__name__}")
    return description
