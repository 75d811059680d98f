"""Rollouts in the catalog: a candidate served beside the primary until it is promoted or not.

Every replica reads the same row, so all of them route the same share of traffic; each writes
its own figures per step, and the one analysis leader reads their sum. Every change of state is
conditional on the state it saw (``running`` at step N), so a person's promote or abort and the
leader's decision never both win.

A feedback label that reaches a replica which did not answer its request is handed over through
``rollout_labels``: the replica that remembers the request claims it (deleting the row is the
claim, so two replicas never both score one label) and scores it. A label no replica claims is
deleted once it has waited :data:`LABELS_KEPT` (at the next judged window, or by the leader of a
window that has waited that long unjudged), and every pending label when its rollout ends.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from ferry.errors import Conflict, InvalidInput, NotFound
from ferry.registry.catalog import utcnow
from ferry.registry.refs import ModelRef, Version, check_name
from ferry.registry.registry import Registry
from ferry.registry.rollout_plan import (
    ABORTED,
    LABELS_KEPT,
    PROMOTED,
    ROLLED_BACK,
    RUNNING,
    Bounds,
    RolloutPlan,
)
from ferry.registry.tables import rollout_events, rollout_figures, rollout_labels, rollouts

CLAIMED_PER_READ = 5000
"""Handed-over labels one replica reads per tick; the rest wait for its next tick."""
HANDED_PER_INSERT = 1000
"""Labels one INSERT statement writes (four values each: SQLite binds at most 32,766)."""

__all__ = [
    "ABORTED",
    "LABELS_KEPT",
    "PROMOTED",
    "ROLLED_BACK",
    "RUNNING",
    "Rollout",
    "RolloutEvent",
    "Rollouts",
]


@dataclass(frozen=True)
class Rollout:
    """One rollout as the catalog holds it."""

    id: int
    model: str
    alias: str
    primary: str
    candidate: str
    plan: RolloutPlan
    state: str
    step_index: int
    window: int
    failures: int
    started_at: str
    window_started_at: str
    ended_at: str | None
    actor: str
    reason: str | None
    significance: dict[str, Any] | None = None
    """An A/B rollout's newest test (or its progress towards one); None for other modes."""

    @property
    def running(self) -> bool:
        """True until it is promoted, rolled back or aborted."""
        return self.state == RUNNING

    @property
    def percent(self) -> int:
        """The share of traffic (or, in shadow mode, of copies) the candidate gets now."""
        return self.plan.steps[self.step_index] if self.running else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and HTTP API."""
        return {
            "id": self.id, "model": self.model, "alias": self.alias, "primary": self.primary,
            "candidate": self.candidate, "mode": self.plan.mode, "steps": list(self.plan.steps),
            "step": self.step_index, "percent": self.percent, "state": self.state,
            "interval_seconds": self.plan.interval_seconds, "min_requests": self.plan.min_requests,
            "bounds": self.plan.bounds.to_dict(), "failures": self.failures, "window": self.window,
            "started_at": self.started_at, "window_started_at": self.window_started_at,
            "ended_at": self.ended_at, "actor": self.actor, "reason": self.reason,
            "significance": self.significance,
        }  # fmt: skip


@dataclass(frozen=True)
class RolloutEvent:
    """One entry of a rollout's history: started, check, advanced, held, promoted, ..."""

    rollout_id: int
    at: str
    kind: str
    step_percent: int
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rollout": self.rollout_id, "at": self.at, "kind": self.kind,
                "percent": self.step_percent, "detail": self.detail}  # fmt: skip


class Rollouts:
    """Start, read, promote and abort rollouts; the analysis records its decisions here."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.catalog = registry.catalog

    # -- people -------------------------------------------------------------------------

    def start(
        self, ref: str, candidate: str, plan: RolloutPlan, reason: str | None = None
    ) -> Rollout:
        """Roll ``candidate`` out against the version ``ref`` (``name@alias``) points at.

        Refused while the model has a running rollout, when the candidate is the primary, or
        when its inputs differ (a request must be answerable by either variant).
        """
        parsed = ModelRef.parse(ref)
        if parsed.alias is None:
            raise InvalidInput(f"name the alias to roll out on, e.g. {parsed.name}@production")
        primary = self.registry.resolve(parsed)
        chosen = self.registry.resolve(ModelRef(parsed.name, Version.parse(candidate)))
        if chosen.version == primary.version:
            raise InvalidInput(f"{chosen.reference} is already {parsed}: pick another candidate")
        if chosen.metadata.get("input_schema") != primary.metadata.get("input_schema"):
            raise InvalidInput(
                f"{chosen.reference} takes other inputs than {primary.reference}: a rollout "
                "needs both to answer the same requests; promote it with `ferry promote`"
            )
        now = utcnow()
        with self.catalog.writing(parsed.name) as session:
            connection = session.connection
            running = connection.execute(
                select(rollouts.c.id).where(
                    rollouts.c.model_name == parsed.name, rollouts.c.state == RUNNING
                )
            ).first()
            if running is not None:
                raise Conflict(
                    f"{parsed.name} already has rollout {running.id} running: promote or abort "
                    f"it first (`ferry rollout abort {parsed.name}`)"
                )
            rollout_id = connection.execute(
                insert(rollouts)
                .values(
                    model_name=parsed.name,
                    alias=parsed.alias,
                    primary_version=primary.version,
                    candidate_version=chosen.version,
                    mode=plan.mode,
                    steps=json.dumps(list(plan.steps)),
                    interval_seconds=plan.interval_seconds,
                    min_requests=plan.min_requests,
                    bounds=json.dumps(plan.bounds.to_dict()),
                    state=RUNNING,
                    step_index=0,
                    failures=0,
                    started_at=now,
                    window_started_at=now,
                    check_window=0,
                    actor=self.registry.actor,
                    reason=reason,
                )
                .returning(rollouts.c.id)
            ).scalar_one()
            _event(connection, rollout_id, now, "started", plan.steps[0], {"reason": reason})
        return self.get(parsed.name)

    def get(self, model: str) -> Rollout:
        """The model's newest rollout; :class:`NotFound` when it never had one."""
        check_name(model)
        with self.catalog.reading() as session:
            row = session.connection.execute(
                select(rollouts).where(rollouts.c.model_name == model)
                .order_by(rollouts.c.id.desc()).limit(1)
            ).mappings().first()  # fmt: skip
        if row is None:
            raise NotFound(f"{model} has no rollout; start one with `ferry rollout start`")
        rollout = _rollout(row)
        return self._tested(rollout) if rollout.plan.mode == "ab" else rollout

    def _tested(self, rollout: Rollout) -> Rollout:
        """The rollout with its newest significance test (kept in the detail of its events)."""
        query = (
            select(rollout_events.c.detail)
            .where(rollout_events.c.rollout_id == rollout.id,
                   rollout_events.c.detail.like('%"significance"%'))
            .order_by(rollout_events.c.id.desc()).limit(1)
        )  # fmt: skip
        with self.catalog.reading() as session:
            detail = session.connection.execute(query).scalar()
        found = json.loads(detail).get("significance") if detail else None
        return dataclasses.replace(rollout, significance=found)

    def active(self, model: str) -> Rollout | None:
        """The model's running rollout, or None."""
        with self.catalog.reading() as session:
            row = session.connection.execute(
                select(rollouts).where(rollouts.c.model_name == model, rollouts.c.state == RUNNING)
            ).mappings().first()  # fmt: skip
        return None if row is None else _rollout(row)

    def newest(self) -> list[Rollout]:
        """Every model's newest rollout, by model name."""
        newest = select(func.max(rollouts.c.id)).group_by(rollouts.c.model_name)
        with self.catalog.reading() as session:
            rows = session.connection.execute(
                select(rollouts).where(rollouts.c.id.in_(newest)).order_by(rollouts.c.model_name)
            ).mappings()  # fmt: skip
            found = [_rollout(row) for row in rows]
        return [
            self._tested(rollout) if rollout.plan.mode == "ab" else rollout for rollout in found
        ]

    def history(self, model: str) -> list[RolloutEvent]:
        """Every event of every rollout of ``model``, oldest first."""
        self.get(model)
        ids = select(rollouts.c.id).where(rollouts.c.model_name == model)
        query = select(rollout_events).where(rollout_events.c.rollout_id.in_(ids))
        with self.catalog.reading() as session:
            rows = session.connection.execute(query.order_by(rollout_events.c.id)).mappings()
            return [
                RolloutEvent(row["rollout_id"], row["at"], row["kind"], row["step_percent"],
                             json.loads(row["detail"] or "{}"))
                for row in rows
            ]  # fmt: skip

    def promote(self, model: str, reason: str | None = None) -> Rollout:
        """Move the alias to the candidate now (its files verified first) and end the rollout."""
        rollout = self._running(model)
        why = reason or f"rollout {rollout.id} promoted by {self.registry.actor}"
        return self.finish(rollout, PROMOTED, why, {"by": self.registry.actor})

    def abort(self, model: str, reason: str | None = None) -> Rollout:
        """Send all traffic back to the primary and end the rollout; the alias stays."""
        rollout = self._running(model)
        why = reason or f"aborted by {self.registry.actor}"
        return self.finish(rollout, ABORTED, why, {"by": self.registry.actor})

    # -- the analysis -------------------------------------------------------------------

    def finish(
        self, rollout: Rollout, state: str, reason: str, detail: dict[str, Any],
        now: str | None = None,
    ) -> Rollout:  # fmt: skip
        """End a running rollout as ``state``; promoting moves the alias first, with ``reason``."""
        if state == PROMOTED:
            self.registry.set_alias(rollout.model, rollout.alias, rollout.candidate, reason)
        now = now or utcnow()
        with self.catalog.writing(rollout.model) as session:
            changed = session.connection.execute(
                update(rollouts).where(rollouts.c.id == rollout.id, rollouts.c.state == RUNNING)
                .values(state=state, ended_at=now, reason=reason)
            ).rowcount  # fmt: skip
            if not changed:
                raise Conflict(f"rollout {rollout.id} of {rollout.model} is no longer running")
            session.connection.execute(
                delete(rollout_labels).where(rollout_labels.c.rollout_id == rollout.id)
            )  # no replica scores a label for an ended rollout
            kind = {PROMOTED: "promoted", ROLLED_BACK: "rolled_back"}.get(state, "aborted")
            _event(session.connection, rollout.id, now, kind, rollout.percent,
                   {**detail, "reason": reason})  # fmt: skip
            if state == ROLLED_BACK:
                session.add_event(now, "rejected", rollout.model, rollout.candidate,
                                  {"rollout": rollout.id, "reason": reason, **detail})  # fmt: skip
        return self.get(rollout.model)

    def judged(
        self, rollout: Rollout, step_index: int, failures: int, kind: str,
        detail: dict[str, Any], now: str,
    ) -> bool:  # fmt: skip
        """Record one judged window (``advanced``, ``held``, ``checked``) and open the next,
        if the rollout is still where the leader saw it; False when it moved meanwhile."""
        values = {"step_index": step_index, "failures": failures,
                  "check_window": rollout.window + 1, "window_started_at": now}  # fmt: skip
        with self.catalog.writing(rollout.model) as session:
            changed = session.connection.execute(
                update(rollouts).where(
                    rollouts.c.id == rollout.id, rollouts.c.state == RUNNING,
                    rollouts.c.check_window == rollout.window,
                ).values(**values)
            ).rowcount  # fmt: skip
            if changed:
                _event(session.connection, rollout.id, now, kind,
                       rollout.plan.steps[step_index], detail)  # fmt: skip
                _expire_labels(session.connection, rollout.id, now)
        return bool(changed)

    def report(self, rollout: Rollout, replica: str, figures: dict[str, Any]) -> None:
        """Store this replica's figures for the rollout's current window (replacing its last)."""
        key = (rollout_figures.c.rollout_id == rollout.id,
               rollout_figures.c.check_window == rollout.window,
               rollout_figures.c.replica == replica)  # fmt: skip
        now, encoded = utcnow(), json.dumps(figures)
        with self.catalog.writing() as session:
            connection = session.connection
            if connection.execute(update(rollout_figures).where(*key)
                                  .values(figures=encoded, updated_at=now)).rowcount:  # fmt: skip
                return
            connection.execute(
                insert(rollout_figures).values(
                    rollout_id=rollout.id,
                    check_window=rollout.window,
                    replica=replica,
                    figures=encoded,
                    updated_at=now,
                )
            )

    def figures(self, rollout: Rollout, every_window: bool = False) -> list[dict[str, Any]]:
        """Every replica's figures for the rollout's current window (or for all its windows:
        the A/B test counts every labelled outcome of the rollout)."""
        query = select(rollout_figures.c.figures).where(rollout_figures.c.rollout_id == rollout.id)
        if not every_window:
            query = query.where(rollout_figures.c.check_window == rollout.window)
        with self.catalog.reading() as session:
            return [json.loads(row[0]) for row in session.connection.execute(query)]

    # -- labels handed between replicas ---------------------------------------------------

    def hand_over(self, rollout: Rollout, labels: list[tuple[str, Any]], now: str) -> bool:
        """Leave feedback labels, ``(request_id, label)`` each, for whichever replicas answered
        their requests, in one transaction; False (and nothing kept) when the rollout has ended
        meanwhile.

        Written holding the rollout's row, which ``finish`` updates: no label is left behind for
        an ended rollout, and rows commit in id order, so a replica reading past the newest id
        it has read never misses one. (The row, not the model's lock: registrations of the model
        do not wait for labels.) The rows go in as they come, a multi-row INSERT per
        :data:`HANDED_PER_INSERT`."""
        rows = [{"rollout_id": rollout.id, "request_id": request_id, "label": json.dumps(label),
                 "created_at": now} for request_id, label in labels]  # fmt: skip
        with self.catalog.writing() as session:
            connection = session.connection
            state = connection.execute(
                select(rollouts.c.state).where(rollouts.c.id == rollout.id).with_for_update()
            ).scalar()  # fmt: skip
            if state != RUNNING:
                return False
            for start in range(0, len(rows), HANDED_PER_INSERT):
                connection.execute(
                    insert(rollout_labels).values(rows[start : start + HANDED_PER_INSERT])
                )
        return True

    def expire_labels(self, rollout: Rollout, now: str) -> None:
        """Delete the rollout's handed-over labels that waited longer than :data:`LABELS_KEPT`
        (``judged`` does it with each window; the leader calls this for a window that waits)."""
        with self.catalog.writing() as session:
            _expire_labels(session.connection, rollout.id, now)

    def claim_labels(
        self, rollout: Rollout, after: int, knows: Callable[[str], bool]
    ) -> tuple[list[tuple[str, Any]], int]:
        """The handed-over labels after row ``after`` whose request ``knows`` (this replica
        answered it), oldest first, removed from the catalog; and the newest row read.

        Deleting is claiming: of two replicas that both know a request id, only the one whose
        delete removed the row gets its label back."""
        query = (
            select(rollout_labels.c.id, rollout_labels.c.request_id)
            .where(rollout_labels.c.rollout_id == rollout.id, rollout_labels.c.id > after)
            .order_by(rollout_labels.c.id).limit(CLAIMED_PER_READ)
        )  # fmt: skip
        with self.catalog.reading() as session:
            rows = session.connection.execute(query).all()
        newest = rows[-1].id if rows else after
        mine = [row.id for row in rows if knows(row.request_id)]
        if not mine:
            return [], newest
        with self.catalog.writing() as session:
            claimed = session.connection.execute(
                delete(rollout_labels).where(rollout_labels.c.id.in_(mine))
                .returning(rollout_labels.c.id, rollout_labels.c.request_id,
                           rollout_labels.c.label)
            ).all()  # fmt: skip
        return [(row.request_id, json.loads(row.label)) for row in sorted(claimed)], newest

    def _running(self, model: str) -> Rollout:
        rollout = self.get(model)
        if not rollout.running:
            raise Conflict(f"rollout {rollout.id} of {model} is already {rollout.state}")
        return rollout


def _event(connection: Any, rollout_id: int, at: str, kind: str, percent: int,
           detail: dict[str, Any]) -> None:  # fmt: skip
    connection.execute(
        insert(rollout_events).values(rollout_id=rollout_id, at=at, kind=kind,
                                      step_percent=percent, detail=json.dumps(detail))
    )  # fmt: skip


def _expire_labels(connection: Any, rollout_id: int, now: str) -> None:
    """Delete the rollout's handed-over labels that waited longer than :data:`LABELS_KEPT`."""
    cutoff = (datetime.fromisoformat(now) - LABELS_KEPT).isoformat(timespec="microseconds")
    connection.execute(
        delete(rollout_labels).where(rollout_labels.c.rollout_id == rollout_id,
                                     rollout_labels.c.created_at < cutoff)
    )  # fmt: skip


def _rollout(row: RowMapping) -> Rollout:
    plan = RolloutPlan(
        mode=row["mode"], steps=tuple(json.loads(row["steps"])),
        interval_seconds=row["interval_seconds"], min_requests=row["min_requests"],
        bounds=Bounds(**json.loads(row["bounds"])),
    )  # fmt: skip
    return Rollout(
        id=row["id"], model=row["model_name"], alias=row["alias"],
        primary=row["primary_version"], candidate=row["candidate_version"], plan=plan,
        state=row["state"], step_index=row["step_index"], window=row["check_window"],
        failures=row["failures"],
        started_at=row["started_at"], window_started_at=row["window_started_at"],
        ended_at=row["ended_at"], actor=row["actor"], reason=row["reason"],
    )  # fmt: skip
