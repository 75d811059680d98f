"""The champion's drift reference, read with today's [drift] settings."""

from __future__ import annotations

import pytest

from ferry.errors import InvalidInput
from ferry.training import run_pipeline
from ferry.training.reference import champion_reference
from ferry.training.spec import load_spec


def test_todays_settings_apply_and_column_types_wait_for_a_retrain(sqlite_registry,
                                                                   write_pipeline):  # fmt: skip
    run_pipeline(write_pipeline(), sqlite_registry)
    champion = sqlite_registry.resolve("cancer@production")
    same = load_spec(write_pipeline(extra="", filename="same.toml")).drift
    assert champion_reference(sqlite_registry, champion, same).notes == ()
    edited = '[drift]\nnumeric_test = "psi"\nignore = ["mean radius"]\ncategorical = ["mean area"]'
    drift = load_spec(write_pipeline(extra=edited, filename="edited.toml")).drift
    reference = champion_reference(sqlite_registry, champion, drift)
    assert reference.detector.get_params()["numeric_test"] == "psi"
    assert "mean radius" not in reference.detector.feature_names_in_
    assert reference.notes == (
        f"drift.categorical changed since {champion.reference} was trained: its profile keeps "
        "the old column types until the next training run",
    )


def test_a_champion_without_a_profile_is_named(sqlite_registry, forest, cancer, write_pipeline):
    sqlite_registry.register(forest, "cancer", input_example=cancer[0].head())
    champion = sqlite_registry.resolve("cancer:1.0.0")
    drift = load_spec(write_pipeline()).drift
    with pytest.raises(InvalidInput, match="has no drift reference profile"):
        champion_reference(sqlite_registry, champion, drift)
