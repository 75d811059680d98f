"""The Models page's summary read straight from the catalog (SQLite and PostgreSQL): semver
order for the latest version, counts, aliases, each model's last run and check."""

from __future__ import annotations

from ferry.training.runs import CheckRecord, RunStore
from ferry.ui.queries import models_overview


def test_overview_matches_the_registry(registry, pipeline, cancer):
    example = cancer[0].head(3)
    for version in ("1.2.0", "1.10.0", "1.9.0"):
        registry.register(pipeline, "churn", input_example=example, version=version)
    registry.register(pipeline, "fraud", input_example=example)
    registry.set_alias("churn", "production", "1.9.0")
    store = RunStore(registry.catalog)
    store.create("r1", "churn", "/p.toml", "cli", "2026-03-01T00:00:00+00:00")
    store.add_check(
        CheckRecord("fraud", "/f.toml", "2026-03-01T00:00:00+00:00", "log", None, None, True,
                    10, None, True, None, "none", None, "ok", {"drift_share": 0.7})
    )  # fmt: skip
    churn, fraud = models_overview(registry)
    assert (churn.name, churn.latest, churn.versions) == ("churn", "1.10.0", 3)
    assert churn.aliases == {"production": "1.9.0"}
    # the age shown is the pointed-to version's (1.9.0, registered last), not the latest's
    assert churn.alias_created == {"production": registry.resolve("churn:1.9.0").created_at}
    assert churn.alias_created["production"] != churn.updated_at
    assert churn.updated_at == registry.resolve("churn:1.10.0").created_at
    assert churn.last_run is not None and churn.last_run.id == "r1" and churn.last_check is None
    assert (fraud.latest, fraud.versions, fraud.aliases, fraud.last_run) == ("1.0.0", 1, {}, None)
    assert fraud.alias_created == {}
    assert fraud.last_check is not None and fraud.last_check.drift is True
    summaries = {s["name"]: s for s in registry.list_models()}
    assert summaries["churn"]["latest"] == churn.latest


def test_overview_reads_in_the_same_few_queries_however_many_models(
    registry, pipeline, cancer, sql_statements
):
    """One grouped query per concern (versions, aliases, last runs, last checks): no N+1."""
    example, store = cancer[0].head(3), RunStore(registry.catalog)
    counts = []
    for model in ("churn", "fraud", "spam"):
        registry.register(pipeline, model, input_example=example)
        store.create(f"run-{model}", model, "/p.toml", "cli", "2026-03-01T00:00:00+00:00")
        sql_statements.clear()
        rows = models_overview(registry)
        counts.append(len(sql_statements))
        assert rows[-1].last_run is not None and rows[-1].last_run.id == f"run-{model}"
    assert counts == [4, 4, 4]
