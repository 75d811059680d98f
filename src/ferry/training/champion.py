"""The champion: the version an alias points at, and how it scores on the comparison rows."""

from __future__ import annotations

import pandas as pd

from ferry.errors import NotFound
from ferry.registry.registry import ModelVersion, Registry
from ferry.training.evaluation import Evaluation, evaluate


def current_champion(registry: Registry, name: str, alias: str) -> ModelVersion | None:
    """The version ``name@alias`` points at, or None when there is none yet."""
    try:
        return registry.resolve(f"{name}@{alias}")
    except NotFound:
        return None


def score_champion(
    registry: Registry,
    champion: ModelVersion,
    features: pd.DataFrame,
    target: pd.Series | None,
    task: str,
) -> Evaluation:
    """The champion (hash-verified on load) on the comparison rows, with its own columns."""
    loaded = registry.load(champion.reference)
    schema = champion.metadata["input_schema"]
    if schema.get("type") == "dataframe":
        features = features[[column["name"] for column in schema["columns"]]]
    return evaluate(loaded.predictor, features, target, task)
