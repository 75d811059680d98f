"""The rollout loop of one server: hold the candidate beside the primary, count what each
variant did, and (on the leader) step, hold or roll the candidate back.

Every tick, for each served model: read its running rollout from the catalog (so every replica
routes the same share), load and warm the candidate once, store this replica's figures for the
current window, and, on the one leader, judge a window once its interval has passed. The clock is
injected: tests move it instead of sleeping.

A feedback label is scored by the replica that answered its request (:mod:`ferry.serving.labels`),
claimed at its tick before it reports the window's figures.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ferry.flavors.tasks import Outputs
from ferry.registry.rollout_plan import ABORTED, LABELS_KEPT, PROMOTED, ROLLED_BACK
from ferry.serving.batching import MicroBatcher
from ferry.serving.checks import ADVANCE, INCONCLUSIVE, PROMOTE, ROLLBACK, WAIT, Verdict, judge
from ferry.serving.copies import answer_shadow, compared, tally
from ferry.serving.distance import count_predictions
from ferry.serving.figures import WindowFigures
from ferry.serving.labels import Labels
from ferry.serving.leader import Leadership
from ferry.serving.live import LiveModel
from ferry.serving.loader import LoadedVersion
from ferry.serving.metrics import ServingMetrics
from ferry.serving.outcomes import Answered
from ferry.serving.shadow import Copy, ShadowQueue
from ferry.serving.traffic import CANDIDATE, PRIMARY, SINGLE, Route, Split

if TYPE_CHECKING:
    from ferry.registry.rollouts import Rollout, Rollouts

log = logging.getLogger("ferry.serving")
alerts = logging.getLogger("ferry.alerts")
SHADOW_CAPACITY = 1000
"""Copies waiting for the other variant before new ones are dropped (and counted)."""
Share = tuple[Any, ...]
"""One request's rows of a batch's answer (:meth:`ferry.flavors.tasks.Outputs.per_row`)."""


@dataclass
class Slot:
    """One model's candidate while a rollout runs: loaded, warmed, batched, counted."""

    rollout: Rollout
    primary: LiveModel
    candidate: LiveModel
    batcher: MicroBatcher[LoadedVersion]
    shadow: ShadowQueue
    figures: WindowFigures = field(default_factory=WindowFigures)
    labels_read: int = 0
    """The newest handed-over label (catalog row id) this replica has looked at."""
    split: Split = field(init=False)
    """The traffic rule of the rollout's current step (made once a step, not per request)."""
    counts_predictions: bool = field(init=False)
    """A distance bound is set: each answer's predictions are counted."""
    keeps_answers: bool = field(init=False)
    """Labels are judged: each answer is kept for its feedback label."""

    def __post_init__(self) -> None:
        self.follow(self.rollout)

    def follow(self, rollout: Rollout) -> None:
        """Take the catalog's newer state of the rollout (its step may have moved)."""
        self.rollout = rollout
        self.split = Split(rollout.plan.mode, rollout.percent)
        self.counts_predictions = rollout.plan.compares_distributions
        self.keeps_answers = rollout.plan.uses_labels

    def route(self, key: str) -> Route:
        """Where a request with this sticky key goes at the current step."""
        return self.split.route(key)


class RolloutLoop:
    """Follows the catalog's rollouts for the served models; leads the analysis when it may.

    ``store()`` opens the catalog's rollouts (at the first tick, not at start); ``load(name,
    version)`` prepares a version as the loader does; ``batcher(live, primary)`` builds the
    micro-batcher a live model answers through (a candidate's with ``primary`` false);
    ``refresh(name)`` makes the server follow its alias at once (after a promotion).
    """

    def __init__(
        self,
        store: Callable[[], Rollouts],
        live: dict[str, LiveModel],
        *,
        load: Callable[[str, str], LoadedVersion],
        batcher: Callable[[LiveModel, bool], MicroBatcher[LoadedVersion]],
        refresh: Callable[[str], Awaitable[None]],
        metrics: ServingMetrics,
        replica: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._open_store = store
        self._store: Rollouts | None = None
        self._leadership: Leadership | None = None
        self.live = live
        self.slots: dict[str, Slot] = {}
        self._load, self._batcher, self._refresh = load, batcher, refresh
        self.metrics, self.replica, self.clock = metrics, replica, clock
        self._refused: dict[str, int] = {}
        self._read: dict[str, Rollout | None] = {}
        """Each model's running rollout as the last sync read it, whether or not it made a slot."""
        self._syncing: dict[str, asyncio.Lock] = {}
        self.labels = Labels(lambda: self.store, clock, metrics)
        self.answered = self.labels.answered

    @property
    def store(self) -> Rollouts:
        """The catalog's rollouts, opened on first use."""
        if self._store is None:
            self._store = self._open_store()
        return self._store

    @property
    def leadership(self) -> Leadership:
        """Who judges: this process when it holds the analysis lock."""
        if self._leadership is None:
            self._leadership = Leadership(self.store.catalog)
        return self._leadership

    # -- the request path ---------------------------------------------------------------

    def route(self, name: str, key: str) -> tuple[Slot | None, Route]:
        """The slot (if a rollout runs) and the route of one request."""
        slot = self.slots.get(name)
        return (slot, slot.route(key)) if slot is not None else (None, SINGLE)

    async def answer(
        self, slot: Slot, rows: np.ndarray, spec: Any
    ) -> tuple[Share, LoadedVersion] | None:
        """The candidate's answer, or None when it failed: counted as the candidate's error,
        and the caller answers with the primary, so no user sees the candidate fail."""
        started = time.perf_counter()
        figures = slot.figures.variants[CANDIDATE]
        try:
            answered = await slot.batcher.submit(rows, spec)
        except Exception as error:
            figures.observe(time.perf_counter() - started, failed=True)
            log.warning("candidate %s failed, the primary answered: %s",
                        slot.candidate.ref, error)  # fmt: skip
            return None
        figures.observe(time.perf_counter() - started, failed=False)
        return answered

    def copy(self, slot: Slot, route: Route, rows: np.ndarray, outputs: Outputs,
             spec: Any, primary: MicroBatcher[LoadedVersion]) -> None:  # fmt: skip
        """Have the other variant answer a copy of an answered request, off the request path.

        The candidate answers a shadow copy from the bounded queue. The primary answers a
        canary's copy in its next micro-batch (``primary``), which runs anyway: a session run
        of its own for every canary request cost more than the candidate's answer."""
        answered = compared(outputs)
        if answered is None:
            return
        if route.answer == PRIMARY:
            slot.shadow.offer(Copy(rows, answered, CANDIDATE))
            return
        copied = primary.copy(rows, spec, SHADOW_CAPACITY)
        if copied is None:
            self._dropped(slot.primary.name)
            return
        copied.add_done_callback(functools.partial(self._primary_answered, slot, answered))

    def _primary_answered(
        self, slot: Slot, answered: np.ndarray, copied: asyncio.Future[Any]
    ) -> None:
        """Compare the primary's answer to a canary's copy with the candidate's."""
        if copied.cancelled() or copied.exception() is not None:
            return
        if self.slots.get(slot.primary.name) is not slot:
            return  # the rollout moved on while the copy waited
        share, loaded = copied.result()
        tally(slot.figures, slot.counts_predictions, PRIMARY, loaded, Outputs(*share), answered)
        self._disagreement(slot)

    def remember(self, slot: Slot, request_id: str, variant: str, outputs: Outputs,
                 loaded: LoadedVersion) -> None:  # fmt: skip
        """Count what the variant predicted (for a distance bound), and keep which variant
        answered ``request_id`` and what (for its feedback label), when the plan needs them."""
        if slot.counts_predictions:
            into = slot.figures.variants[variant].predicted
            count_predictions(loaded.task, outputs.predictions, into)
        if slot.keeps_answers and outputs.predictions is not None:
            self.answered.remember(
                request_id, Answered(slot.rollout.id, variant, loaded.task, outputs.predictions)
            )

    def labelled(self, name: str, request_id: str, label: Any) -> None:
        """Score a feedback label for the variant that answered its request, here or (handed
        over in the background) on the replica that answered it (:mod:`ferry.serving.labels`)."""
        self.labels.label(self.slots.get(name), self._read.get(name), request_id, label)

    # -- the loop -----------------------------------------------------------------------

    async def tick(self) -> None:
        """One pass over the served models: follow, report and (leader) judge."""
        leads = await asyncio.to_thread(self.leadership.held)
        for name, live in self.live.items():
            try:
                rollout = await self.sync(live)
                slot = self.slots.get(name)
                if slot is not None:
                    if slot.keeps_answers:
                        await self.labels.claim(slot)
                    figures = slot.figures.to_dict()
                    await asyncio.to_thread(self.store.report, slot.rollout, self.replica, figures)
                if leads and rollout is not None:
                    await self.analyse(rollout)
            except Exception:  # a catalog outage must not stop the loop
                log.exception("rollout tick failed for %s", name)

    async def sync(self, live: LiveModel) -> Rollout | None:
        """Match this replica's slot to the model's running rollout; returns that rollout.

        One sync per model at a time: an older read must never undo a newer one."""
        async with self._syncing.setdefault(live.name, asyncio.Lock()):
            return await self._sync(live)

    async def _sync(self, live: LiveModel) -> Rollout | None:
        name = live.name
        rollout = self._read[name] = await asyncio.to_thread(self.store.active, name)
        serving = live.current
        fits = (
            rollout is not None and rollout.alias == live.ref.alias
            and serving is not None and serving.version == rollout.primary
        )  # fmt: skip
        slot = self.slots.get(name)
        if not fits or rollout is None:
            if slot is not None:
                await self.drop(name)
            self.metrics.rollout_step_percent.labels(name).set(0)
            return rollout if rollout is not None and rollout.alias == live.ref.alias else None
        if slot is not None and slot.rollout.id == rollout.id:
            if slot.rollout.window != rollout.window:
                slot.figures = WindowFigures()
            slot.follow(rollout)
        elif self._refused.get(name) != rollout.id:
            if slot is not None:
                await self.drop(name)
            await self._prepare(live, rollout)
        self.metrics.rollout_step_percent.labels(name).set(
            rollout.percent if name in self.slots else 0
        )
        return rollout

    async def _prepare(self, primary: LiveModel, rollout: Rollout) -> None:
        """Load, verify and warm the candidate beside the primary; refuse it on any failure."""
        try:
            loaded = await asyncio.to_thread(self._load, primary.name, rollout.candidate)
            serving = primary.serving()
            if loaded.spec != serving.spec:
                raise ValueError(f"{loaded.reference} takes other inputs than {serving.reference}")
        except Exception as error:
            self._refused[primary.name] = rollout.id
            log.error("rollout %d: cannot serve candidate %s:%s, all traffic stays on the "
                      "primary: %s", rollout.id, primary.name, rollout.candidate, error)  # fmt: skip
            return
        name = primary.name
        candidate = LiveModel(f"{name}:{rollout.candidate}")
        candidate.install(loaded)
        shadow = ShadowQueue(
            SHADOW_CAPACITY, lambda copy: self._compare(name, copy), lambda: self._dropped(name)
        )
        self.slots[name] = Slot(
            rollout, primary, candidate, self._batcher(candidate, False), shadow
        )

    async def drop(self, name: str) -> None:
        """End this replica's slot: all traffic back to the primary."""
        slot = self.slots.pop(name, None)
        if slot is not None:
            await slot.shadow.close()
            await slot.batcher.close()

    def reuse(self, name: str, version: str) -> LoadedVersion | None:
        """The candidate already loaded and warm, when the alias moved onto it (promotion)."""
        slot = self.slots.get(name)
        current = slot.candidate.current if slot is not None else None
        return current if current is not None and current.version == version else None

    def health(self, name: str) -> dict[str, Any] | None:
        """The rollout this replica serves for ``name`` (None when none): for ``/model/health``."""
        slot = self.slots.get(name)
        if slot is None:
            return None
        rollout, candidate = slot.rollout, slot.figures.variants[CANDIDATE]
        leader = self._leadership is not None and self._leadership.leads
        return {"id": rollout.id, "mode": rollout.plan.mode, "percent": rollout.percent,
                "primary": rollout.primary, "candidate": rollout.candidate, "leader": leader,
                "window_requests": candidate.requests, "window_errors": candidate.errors}  # fmt: skip

    async def close(self) -> None:
        """Write the labels waiting to be handed over, drop every slot, give leadership back."""
        await self.labels.close()
        for name in list(self.slots):
            await self.drop(name)
        if self._leadership is not None:
            await asyncio.to_thread(self._leadership.release)

    # -- copies -------------------------------------------------------------------------

    async def _compare(self, name: str, copy: Copy) -> None:
        """Answer a shadow copy with the candidate (``copies.py``)."""
        slot = self.slots.get(name)
        loaded = None if slot is None else slot.candidate.current
        if slot is None or loaded is None:
            return
        await answer_shadow(slot.figures, slot.counts_predictions, loaded, copy)
        self._disagreement(slot)

    def _disagreement(self, slot: Slot) -> None:
        disagreement = slot.figures.disagreement
        if disagreement is not None:
            self.metrics.shadow_disagreement.labels(slot.primary.name).set(disagreement)

    def _dropped(self, name: str) -> None:
        slot = self.slots.get(name)
        if slot is not None:
            slot.figures.dropped += 1
        self.metrics.shadow_dropped.labels(name).inc()

    # -- the analysis (leader) ----------------------------------------------------------

    async def analyse(self, rollout: Rollout) -> Verdict | None:
        """Judge the current window once its interval has passed; record what it decided."""
        now = self.clock()
        opened = datetime.fromisoformat(rollout.window_started_at)
        if (now - opened).total_seconds() < rollout.plan.interval_seconds:
            return None
        stored = await asyncio.to_thread(self.store.figures, rollout)
        labelled = None
        if rollout.plan.mode == "ab":  # the test reads every labelled outcome of the rollout
            every = await asyncio.to_thread(self.store.figures, rollout, True)
            labelled = WindowFigures.total(every)
        # in a thread: the first distance check imports ferry.drift (pandas, scipy)
        verdict = await asyncio.to_thread(judge, rollout, WindowFigures.total(stored), labelled)
        if verdict.action == WAIT:
            if now - opened > LABELS_KEPT:  # no judged window expires the unclaimed labels
                await asyncio.to_thread(self.store.expire_labels, rollout, now.isoformat())
            return verdict
        for check in verdict.checks:
            result = "pass" if check.passed else "fail"
            self.metrics.rollout_checks.labels(rollout.model, check.name, result).inc()
        await asyncio.to_thread(self._record, rollout, verdict, now.isoformat())
        if verdict.action == ROLLBACK:
            alerts.warning("alert candidate_rejected for %s: %s", rollout.model,
                           verdict.reason(rollout))  # fmt: skip
        if rollout.model in self.live:
            await self.sync(self.live[rollout.model])
            if verdict.action == PROMOTE:
                await self._refresh(rollout.model)
        return verdict

    def _record(self, rollout: Rollout, verdict: Verdict, now: str) -> None:
        detail = verdict.detail()
        if verdict.action in (PROMOTE, ROLLBACK, INCONCLUSIVE):
            state = {PROMOTE: PROMOTED, ROLLBACK: ROLLED_BACK}.get(verdict.action, ABORTED)
            failed = [check.to_dict() for check in verdict.failed]
            self.store.finish(rollout, state, verdict.reason(rollout),
                              {**detail, "failed": failed}, now)  # fmt: skip
            return
        step = rollout.step_index + (1 if verdict.action == ADVANCE else 0)
        kind = {"advance": "advanced", "hold": "held"}.get(verdict.action, "checked")
        self.store.judged(rollout, step, verdict.failures, kind, detail, now)
