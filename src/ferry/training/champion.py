"""The champion: the version an alias points at, and how it scores on a candidate's holdout."""

from __future__ import annotations

from ferry.errors import NotFound
from ferry.registry.registry import ModelVersion, Registry
from ferry.training.evaluation import Evaluation, Split, evaluate


def current_champion(registry: Registry, name: str, alias: str) -> ModelVersion | None:
    """The version ``name@alias`` points at, or None when there is none yet."""
    try:
        return registry.resolve(f"{name}@{alias}")
    except NotFound:
        return None


def score_champion(
    registry: Registry, champion: ModelVersion, parts: Split, task: str
) -> Evaluation:
    """The champion (hash-verified on load) on the candidate's holdout, with its own columns."""
    loaded = registry.load(champion.reference)
    schema = champion.metadata["input_schema"]
    features = parts.test_features
    if schema.get("type") == "dataframe":
        features = features[[column["name"] for column in schema["columns"]]]
    return evaluate(loaded.predictor, features, parts.test_target, task)
