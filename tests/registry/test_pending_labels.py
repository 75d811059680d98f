"""Feedback labels handed between replicas through the catalog, on SQLite and PostgreSQL: the
replica that remembers a request claims its label, each label once; unclaimed ones expire."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select, text, update

from ferry import Registry
from ferry.registry.catalog import Catalog
from ferry.registry.rollout_plan import RolloutPlan
from ferry.registry.rollouts import LABELS_KEPT, Rollout, Rollouts
from ferry.registry.tables import rollout_labels, rollouts

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def running(registry: Registry, pipeline, cancer) -> tuple[Rollouts, Rollout]:
    registry.register(pipeline, "churn", input_example=cancer[0].head(5))
    registry.register(pipeline, "churn", input_example=cancer[0].head(5))
    registry.set_alias("churn", "production", "1.0.0")
    store = Rollouts(registry)
    return store, store.start("churn@production", "1.1.0", RolloutPlan(mode="ab"))


def _pending(store: Rollouts) -> list[str]:
    with store.catalog.reading() as session:
        query = select(rollout_labels.c.request_id).order_by(rollout_labels.c.id)
        return list(session.connection.execute(query).scalars())


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def test_a_replica_claims_only_the_labels_of_requests_it_answered(running):
    store, rollout = running
    assert store.hand_over(rollout, [("a-1", 1), ("b-1", "yes")], _at(NOW))
    assert store.hand_over(rollout, [("a-2", 0.5), ("a-1", 0)], _at(NOW))

    claimed, newest = store.claim_labels(rollout, 0, lambda request: request.startswith("a-"))

    assert claimed == [("a-1", 1), ("a-2", 0.5), ("a-1", 0)]  # oldest first, as handed over
    assert _pending(store) == ["b-1"]
    assert store.claim_labels(rollout, newest, lambda request: True) == ([], newest)
    assert store.claim_labels(rollout, 0, lambda request: True)[0] == [("b-1", "yes")]


def test_of_two_replicas_that_know_a_request_only_one_gets_its_label(running, tmp_path):
    store, rollout = running
    store.hand_over(rollout, [("shared", 1)], _at(NOW))
    other = Registry(home=tmp_path / "home", catalog=store.registry.settings.catalog_url)
    second: list[tuple[str, object]] = []

    def knows(request_id: str) -> bool:  # the other replica claims between this read and delete
        second.extend(Rollouts(other).claim_labels(rollout, 0, lambda _: True)[0])
        return True

    try:
        first, _ = store.claim_labels(rollout, 0, knows)
    finally:
        other.close()
    assert (first, second) == ([], [("shared", 1)])


def test_unclaimed_labels_expire_at_the_first_window_judged_a_day_after_they_came(running):
    store, rollout = running
    store.hand_over(rollout, [("old", 1)], _at(NOW))
    store.hand_over(rollout, [("new", 1)], _at(NOW + timedelta(hours=2)))

    assert store.judged(rollout, 0, 0, "checked", {}, _at(NOW + LABELS_KEPT))
    assert _pending(store) == ["old", "new"]  # exactly a day: kept
    judged = store.get("churn")
    assert store.judged(judged, 0, 0, "checked", {}, _at(NOW + LABELS_KEPT + timedelta(hours=1)))
    assert _pending(store) == ["new"]


def test_an_ended_rollout_keeps_no_label_and_takes_no_more(running):
    store, rollout = running
    store.hand_over(rollout, [("waiting", 1)], _at(NOW))
    store.abort("churn")

    assert _pending(store) == []
    assert not store.hand_over(rollout, [("late", 1), ("later", 0)], _at(NOW))
    assert _pending(store) == []


@pytest.mark.postgres
def test_a_label_handed_over_while_its_rollout_ends_is_not_left_behind(
    tmp_path, postgres_url, pipeline, cancer
):
    with Registry(home=tmp_path / "home", catalog=postgres_url) as registry:
        registry.register(pipeline, "churn", input_example=cancer[0].head(5))
        registry.register(pipeline, "churn", input_example=cancer[0].head(5))
        registry.set_alias("churn", "production", "1.0.0")
        store = Rollouts(registry)
        rollout = store.start("churn@production", "1.1.0", RolloutPlan(mode="ab"))
        with ThreadPoolExecutor(1) as pool, store.catalog.writing("churn") as ending:
            ending.connection.execute(  # what finish does, held open
                update(rollouts).where(rollouts.c.id == rollout.id).values(state="aborted")
            )
            ending.connection.execute(delete(rollout_labels))
            late = pool.submit(store.hand_over, rollout, [("late", 1)], _at(NOW))
            _until_waiting_for_a_lock(store)
            ending.connection.commit()
        assert late.result() is False
        assert _pending(store) == []


def _until_waiting_for_a_lock(store: Rollouts) -> None:
    """Poll PostgreSQL until another session waits for a row lock (the hand-over)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database()"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with store.catalog.reading() as session:
            if session.connection.execute(query).scalar_one():
                return
    raise AssertionError("the hand-over never waited for the ending rollout's row")


def test_a_catalog_at_revision_0005_gains_the_labels_table_keeping_its_rollouts(
    tmp_path: Path, catalog_url: str, old_catalog
):
    (tmp_path / "home").mkdir(exist_ok=True)
    old_catalog(
        catalog_url,
        "0005",
        "INSERT INTO rollouts (model_name, alias, primary_version, candidate_version, mode,"
        " steps, interval_seconds, min_requests, bounds, state, step_index, check_window,"
        " failures, started_at, window_started_at, actor) VALUES ('churn', 'production',"
        " '1.0.0', '1.1.0', 'ab', '[100]', 60, 10, '{}', 'running', 0, 0, 0, 'then', 'then',"
        " 'me')",
    )
    catalog = Catalog(catalog_url)
    try:
        with catalog.reading() as session:
            assert "rollout_labels" in inspect(session.connection).get_table_names()
            kept = session.connection.execute(text("SELECT id, mode FROM rollouts")).one()
        with catalog.writing("churn") as session:
            session.connection.execute(rollout_labels.insert().values(
                rollout_id=kept.id, request_id="r", label="1", created_at=_at(NOW)))  # fmt: skip
        assert kept.mode == "ab"
    finally:
        catalog.close()
