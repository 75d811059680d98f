"""Run records and monitor checks in the catalog (SQLite and PostgreSQL), and the migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import ferry.registry.catalog as catalog_module
from ferry.errors import NotFound
from ferry.registry.catalog import Catalog
from ferry.training.runs import CheckRecord, RunStore
from ferry.training.stats import model_stats


def _check(at: str, end: str | None, *, consumed=True, drift=False, source="predictions"):
    return CheckRecord("churn", "/p.toml", at, source, None, end, consumed, 100, "1.0.0",
                       drift, None, "none", None, "ok", {"reason": "x"})  # fmt: skip


def test_runs_are_created_updated_and_listed(registry):
    store = RunStore(registry.catalog)
    store.create("a1", "churn", "/p.toml", "cli", "2026-03-01T00:00:00+00:00")
    store.create("b2", "churn", "/p.toml", "schedule", "2026-03-02T00:00:00+00:00")
    store.create("c3", "other", "/q.toml", "api", "2026-03-03T00:00:00+00:00")
    store.update("a1", status="succeeded", metrics={"f1": 0.9}, steps=[{"name": "load"}],
                 rows=569, primary_metric="f1", decision="promoted", training_seconds=1.5,
                 started_at="2026-03-01T00:00:00+00:00", ended_at="2026-03-01T00:00:02+00:00")  # fmt: skip
    run = store.get("a1")
    assert run.metrics == {"f1": 0.9} and run.steps == [{"name": "load"}]
    assert run.seconds == 2.0 and run.to_dict()["seconds"] == 2.0
    assert [r.id for r in store.recent("churn")] == ["b2", "a1"]
    assert [r.id for r in store.recent(limit=1)] == ["c3"]
    assert store.last_pipeline("other") == "/q.toml"
    with pytest.raises(NotFound, match="zz"):
        store.get("zz")
    with pytest.raises(NotFound):
        store.update("zz", status="failed")


def test_checks_and_the_window_they_consumed(registry):
    store = RunStore(registry.catalog)
    assert store.last_window_end("churn", "predictions") is None
    first = store.add_check(_check("2026-03-01T01:00:00+00:00", "2026-03-01T01:00:00+00:00"))
    store.add_check(_check("2026-03-01T02:00:00+00:00", "2026-03-01T02:00:00+00:00",
                           consumed=False, drift=True))  # fmt: skip
    store.add_check(_check("2026-03-01T03:00:00+00:00", None, source="/cur.csv"))
    assert first.id is not None
    assert store.last_window_end("churn", "predictions") == "2026-03-01T01:00:00+00:00"
    checks = store.checks("churn")
    assert [c.checked_at[11:13] for c in checks] == ["03", "02", "01"]
    assert checks[1].drift is True and checks[1].consumed is False
    assert checks[0].summary == {"reason": "x"}


def test_each_models_newest_run_and_check_at_once(registry, sql_statements):
    """What the dashboard's Models page reads: one newest run and check per registered model,
    each in one query however many models there are."""
    for name in ("churn", "other", "idle"):
        with registry.catalog.writing(name) as session:
            session.lock_model(name, "2026-03-01T00:00:00+00:00")
    store = RunStore(registry.catalog)
    store.create("a1", "churn", "/p.toml", "cli", "2026-03-01T00:00:00+00:00")
    store.create("b2", "churn", "/p.toml", "cli", "2026-03-02T00:00:00+00:00")
    store.create("a0", "churn", "/p.toml", "cli", "2026-03-02T00:00:00+00:00")  # same time: by id
    store.create("c3", "other", "/q.toml", "api", "2026-03-01T00:00:00+00:00")
    store.create("d4", "ghost", "/q.toml", "api", "2026-03-03T00:00:00+00:00")  # never registered
    store.add_check(_check("2026-03-01T00:00:00+00:00", None))
    newest = store.add_check(_check("2026-03-02T00:00:00+00:00", None, drift=True))
    sql_statements.clear()
    last, checks = store.last_runs(), store.last_checks()
    assert {name: run.id for name, run in last.items()} == {"churn": "a0", "other": "c3"}
    assert checks == {"churn": newest}
    assert len(sql_statements) == 2


def test_stats_from_records(registry):
    store = RunStore(registry.catalog)
    for index, (status, decision, f1) in enumerate(
        [("succeeded", "promoted", 0.8), ("failed", None, None), ("succeeded", "rejected", 0.7)]
    ):
        run_id = f"r{index}"
        store.create(run_id, "churn", "/p.toml", "cli", f"2026-03-0{index + 1}T00:00:00+00:00")
        store.update(run_id, status=status, decision=decision, rows=100 * (index + 1),
                     primary_metric="f1", metrics=None if f1 is None else {"f1": f1},
                     champion_metrics={"f1": 0.75}, training_seconds=float(index + 1))  # fmt: skip
    store.add_check(_check("2026-03-01T01:00:00+00:00", "x", drift=True))
    store.add_check(_check("2026-03-01T02:00:00+00:00", "y", drift=False))
    figures = model_stats("churn", store.recent("churn"), store.checks("churn"))
    assert figures["retrain_success_rate"] == pytest.approx(2 / 3)
    assert figures["drift_frequency"] == 0.5
    assert [point["value"] for point in figures["metric_trend"]] == [0.8, 0.7]
    assert figures["metric_trend"][0]["champion_value"] == 0.75
    assert figures["training_seconds"] == {"last": 3.0, "mean": 2.0, "min": 1.0, "max": 3.0}
    assert figures["data_volume"]["last"] == 300.0
    assert figures["decisions"] == {
        "promoted": 1, "rejected": 1, "forced": 0, "rollout_started": 0, "rollout_blocked": 0
    }  # fmt: skip


def test_a_catalog_at_revision_0001_is_upgraded_keeping_its_data(tmp_path: Path, old_catalog):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_catalog(url, "0001", "INSERT INTO models (name, created_at) VALUES ('kept', 'now')")
    catalog = Catalog(url)
    try:
        with catalog.reading() as session:
            names = inspect(session.connection).get_table_names()
            version = session.connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == catalog_module.SCHEMA_REVISION
            kept = session.connection.execute(text("SELECT name FROM models")).scalar()
        assert {"runs", "monitor_checks"} <= set(names) and kept == "kept"
    finally:
        catalog.close()


def test_a_catalog_at_revision_0002_gains_the_comparison_columns_keeping_its_runs(
    tmp_path: Path, catalog_url: str, old_catalog
):
    (tmp_path / "home").mkdir(exist_ok=True)
    old_catalog(
        catalog_url,
        "0002",
        "INSERT INTO runs (id, model_name, pipeline, trigger, status, created_at, steps)"
        " VALUES ('old', 'churn', '/p.toml', 'cli', 'succeeded', 'then', '[]')",
    )
    catalog = Catalog(catalog_url)
    try:
        store = RunStore(catalog)
        old = store.get("old")
        assert (old.status, old.comparison_rows, old.excluded_rows) == ("succeeded", None, None)
        store.update("old", comparison_rows=120, excluded_rows=51, comparison_metrics={"f1": 0.9})
        again = store.get("old")
        assert (again.comparison_rows, again.excluded_rows) == (120, 51)
        assert again.comparison_metrics == {"f1": 0.9}
    finally:
        catalog.close()


def test_a_check_keeps_its_distributions_apart_from_the_list(registry):
    with registry.catalog.writing("churn") as session:
        session.lock_model("churn", "2026-03-01T00:00:00+00:00")
    store = RunStore(registry.catalog)
    plots = [{"name": "age", "type": "numeric", "drifted": True, "edges": [0.0, 1.0],
              "reference": [0.2, 0.5, 0.3], "current": [0.1, 0.4, 0.5]}]  # fmt: skip
    old = store.add_check(_check("2026-03-01T01:00:00+00:00", None))
    new = store.add_check(_check("2026-03-01T02:00:00+00:00", None), plots)
    assert new.id is not None and old.id is not None
    assert store.distributions(new.id) == plots and store.distributions(old.id) == []
    assert [check.id for check in store.checks("churn")] == [new.id, old.id]
    assert [check.id for check in store.last_checks().values()] == [new.id]


def test_a_catalog_at_revision_0004_gains_check_distributions_keeping_its_checks(
    tmp_path: Path, catalog_url: str, old_catalog
):
    (tmp_path / "home").mkdir(exist_ok=True)
    old_catalog(
        catalog_url,
        "0004",
        "INSERT INTO monitor_checks (model_name, pipeline, checked_at, source, consumed,"
        " rows, action, status, summary) VALUES ('churn', '/p.toml', 'then', 'log',"
        " true, 10, 'none', 'ok', '{\"drift_share\": 0.5}')",
    )
    catalog = Catalog(catalog_url)
    try:
        store = RunStore(catalog)
        (old,) = store.checks("churn")
        assert old.summary == {"drift_share": 0.5} and old.id is not None
        assert store.distributions(old.id) == []
        new = store.add_check(_check("2026-03-01T02:00:00+00:00", None), [{"name": "a"}])
        assert new.id is not None and store.distributions(new.id) == [{"name": "a"}]
    finally:
        catalog.close()
