"""Run history in the catalog: every training run and every monitor check, as plain records.

A run row is written when the run is queued or starts, updated after each step, and closed with
its status, so a crash leaves a ``running`` row whose steps show how far it got. Timestamps are
ISO-8601 UTC strings like the rest of the catalog; metrics and steps are JSON.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update
from sqlalchemy.sql.util import ClauseAdapter

from ferry.errors import NotFound
from ferry.registry.catalog import Catalog
from ferry.registry.tables import models, monitor_checks, runs

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"

_CHECK_COLUMNS = tuple(
    column for column in monitor_checks.c if column.name != "distributions"
)  # lists of checks leave the per-feature distributions (kilobytes each) unread

_JSON_FIELDS = ("steps", "metrics", "cv_metrics", "champion_metrics", "comparison_metrics", "notes")


def new_run_id() -> str:
    """A short random id (12 hex digits): unique across processes without a round trip."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class RunRecord:
    """One training run as recorded."""

    id: str
    model: str
    pipeline: str
    trigger: str
    status: str
    created_at: str
    started_at: str | None = None
    ended_at: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    rows: int | None = None
    primary_metric: str | None = None
    metrics: dict[str, float] | None = None
    cv_metrics: dict[str, float] | None = None
    champion_metrics: dict[str, float] | None = None
    version: str | None = None
    champion_version: str | None = None
    decision: str | None = None
    reason: str | None = None
    error: str | None = None
    training_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    comparison_rows: int | None = None
    excluded_rows: int | None = None
    comparison_metrics: dict[str, float] | None = None

    @property
    def seconds(self) -> float | None:
        """Wall time from start to end, once the run has ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        from datetime import datetime

        start = datetime.fromisoformat(self.started_at)
        return (datetime.fromisoformat(self.ended_at) - start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``ferry runs --json``, ``GET /runs/{id}``)."""
        return {**asdict(self), "seconds": self.seconds}


@dataclass(frozen=True)
class CheckRecord:
    """One monitor check: the window it read, what it found, and what it did."""

    model: str
    pipeline: str
    checked_at: str
    source: str
    window_start: str | None
    window_end: str | None
    consumed: bool
    rows: int
    champion_version: str | None
    drift: bool | None
    performance_drift: bool | None
    action: str
    run_id: str | None
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


class RunStore:
    """Reads and writes of runs and monitor checks, each in its own short transaction."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def create(self, run_id: str, model: str, pipeline: str, trigger: str, now: str) -> RunRecord:
        """Record a queued run (the HTTP route returns its id before the run starts)."""
        record = RunRecord(run_id, model, pipeline, trigger, QUEUED, now)
        values = _encode(asdict(record))
        values["model_name"] = values.pop("model")
        with self.catalog.writing() as session:
            session.connection.execute(insert(runs).values(**values))
        return record

    def update(self, run_id: str, **changes: Any) -> None:
        """Change some fields of a run (JSON fields are encoded here)."""
        with self.catalog.writing() as session:
            result = session.connection.execute(
                update(runs).where(runs.c.id == run_id).values(**_encode(changes))
            )
            if result.rowcount == 0:
                raise NotFound(f"no run {run_id!r}; see `ferry runs`")

    def discard_queued(self, run_id: str) -> None:
        """Forget a run that was queued but refused before it started (another run held the
        lock): it never ran, so it must not count as a failed run."""
        with self.catalog.writing() as session:
            session.connection.execute(
                delete(runs).where(runs.c.id == run_id, runs.c.status == QUEUED)
            )

    def get(self, run_id: str) -> RunRecord:
        """One run by id."""
        with self.catalog.reading() as session:
            row = session.connection.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}; see `ferry runs`")
        return _run(dict(row._mapping))

    def recent(self, model: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first; only ``model``'s when given."""
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id)
        if model is not None:
            query = query.where(runs.c.model_name == model)
        if limit is not None:
            query = query.limit(limit)
        with self.catalog.reading() as session:
            rows = session.connection.execute(query).all()
        return [_run(dict(row._mapping)) for row in rows]

    def last_runs(self) -> dict[str, RunRecord]:
        """Each registered model's newest run, in one query (the dashboard's Models page).

        A query per model costs more in SQLAlchemy than in the database, and a GROUP BY over
        every run reads the whole index: one query seeks the index once per model instead.
        """
        rows = self._newest(runs, (runs.c.created_at.desc(), runs.c.id), tuple(runs.c))
        return {record.model: record for record in map(_run, rows)}

    def last_checks(self) -> dict[str, CheckRecord]:
        """Each registered model's newest monitor check, in one query (a seek per model)."""
        rows = self._newest(monitor_checks, (monitor_checks.c.id.desc(),), _CHECK_COLUMNS)
        return {check.model: check for check in map(_check, rows)}

    def _newest(
        self,
        table: Table,
        order: tuple[ColumnElement[Any], ...],
        columns: tuple[ColumnElement[Any], ...],
    ) -> list[dict[str, Any]]:
        """The row of each model in ``models`` that sorts first by ``order`` in ``table``: a
        correlated subquery seeks the table's ``model_name`` index from each model's name
        (portable between SQLite and PostgreSQL, unlike LATERAL)."""
        other = table.alias("newest")
        first = (
            select(other.c.id)
            .where(other.c.model_name == models.c.name)
            .order_by(*(ClauseAdapter(other).traverse(term) for term in order))
            .limit(1)
            .scalar_subquery()
        )
        query = select(*columns).where(table.c.id.in_(select(first).select_from(models)))
        with self.catalog.reading() as session:
            return [dict(row._mapping) for row in session.connection.execute(query)]

    def add_check(
        self, check: CheckRecord, distributions: list[dict[str, Any]] | None = None
    ) -> CheckRecord:
        """Record a monitor check and return it with its id; ``distributions`` are the
        per-feature reference and current shares (``Distribution.to_dict``) the check saw."""
        values = asdict(check)
        values.pop("id")
        values["model_name"] = values.pop("model")
        values["summary"] = json.dumps(check.summary, sort_keys=True, default=str)
        if distributions is not None:
            values["distributions"] = json.dumps(distributions, separators=(",", ":"))
        with self.catalog.writing() as session:
            result = session.connection.execute(insert(monitor_checks).values(**values))
            key = result.inserted_primary_key
        return CheckRecord(**{**asdict(check), "id": int(key[0]) if key else None})

    def checks(self, model: str, limit: int | None = None) -> list[CheckRecord]:
        """A model's monitor checks, newest first."""
        query = (
            select(*_CHECK_COLUMNS)
            .where(monitor_checks.c.model_name == model)
            .order_by(monitor_checks.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self.catalog.reading() as session:
            rows = session.connection.execute(query).all()
        return [_check(dict(row._mapping)) for row in rows]

    def distributions(self, check_id: int) -> list[dict[str, Any]]:
        """The per-feature distributions one check recorded (empty for checks made before they
        were recorded, or without a drift report)."""
        query = select(monitor_checks.c.distributions).where(monitor_checks.c.id == check_id)
        with self.catalog.reading() as session:
            value = session.connection.execute(query).scalar()
        stored: list[dict[str, Any]] = json.loads(value) if value else []
        return stored

    def last_window_end(self, model: str, source: str) -> str | None:
        """Where the next check of ``source`` starts: the end of the last window it consumed."""
        query = select(func.max(monitor_checks.c.window_end)).where(
            monitor_checks.c.model_name == model,
            monitor_checks.c.source == source,
            monitor_checks.c.consumed.is_(True),
        )
        with self.catalog.reading() as session:
            value = session.connection.execute(query).scalar()
        return None if value is None else str(value)

    def last_pipeline(self, model: str) -> str | None:
        """The pipeline file ``model`` was last trained from (for the server's train route)."""
        query = (
            select(runs.c.pipeline)
            .where(runs.c.model_name == model, runs.c.pipeline != "")
            .order_by(runs.c.created_at.desc())
            .limit(1)
        )
        with self.catalog.reading() as session:
            value = session.connection.execute(query).scalar()
        return None if value is None else str(value)


def _encode(values: Mapping[str, Any]) -> dict[str, Any]:
    encoded = dict(values)
    for name in _JSON_FIELDS:
        if name in encoded and encoded[name] is not None:
            encoded[name] = json.dumps(encoded[name], sort_keys=True, default=str)
    return encoded


def _run(row: Mapping[str, Any]) -> RunRecord:
    values = dict(row)
    values["model"] = values.pop("model_name")
    for name in _JSON_FIELDS:
        if values.get(name) is not None:
            values[name] = json.loads(values[name])
    values["steps"] = values.get("steps") or []
    values["notes"] = values.get("notes") or []
    return RunRecord(**values)


def _check(row: Mapping[str, Any]) -> CheckRecord:
    values = dict(row)
    values["model"] = values.pop("model_name")
    values["summary"] = json.loads(values["summary"]) if values.get("summary") else {}
    values["consumed"] = bool(values["consumed"])
    for name in ("drift", "performance_drift"):
        if values[name] is not None:
            values[name] = bool(values[name])
    return CheckRecord(**values)
