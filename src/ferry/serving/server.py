"""ModelServer: the served models, their loaders, batchers, log and metrics, and their lifecycle.

The HTTP layer (``app.py``) only parses, calls :meth:`ModelServer.predict` and formats; this
class knows nothing of HTTP. Keeping each reference on its alias's version is
``following.py``'s; making the parts from the settings is ``assembly.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ferry.config import ServingSettings, replica_id
from ferry.errors import InvalidInput, NotFound, NotReady
from ferry.flavors.tasks import Outputs
from ferry.serving import health
from ferry.serving.assembly import default_model, live_models, model_cache, prediction_log
from ferry.serving.batching import InFlight, MicroBatcher, runs_on_loop
from ferry.serving.bundle import Bundle
from ferry.serving.drift_status import DriftStatus
from ferry.serving.feedback import Feedback
from ferry.serving.following import AliasFollower
from ferry.serving.inputs import InputSpec
from ferry.serving.live import LiveModel
from ferry.serving.loader import LoadedVersion, ModelLoader
from ferry.serving.metrics import ServingMetrics
from ferry.serving.registry_link import RegistryLink
from ferry.serving.rollout import RolloutLoop, Slot
from ferry.serving.traffic import CANDIDATE, PRIMARY, SINGLE

if TYPE_CHECKING:
    from ferry.registry.registry import Registry
    from ferry.registry.rollouts import Rollouts

log = logging.getLogger("ferry.serving")
_DRIFT_READ_SECONDS = 10.0
"""How stale the drift figures in /metrics may be: one catalog read per interval, not per scrape."""


@dataclass(frozen=True)
class Prediction:
    """One request's answer, the version that gave it, and the served reference's key."""

    outputs: Outputs
    loaded: LoadedVersion
    request_id: str
    variant: str = PRIMARY
    model: str | None = None


class ModelServer:
    """Everything a serving process holds; started and stopped by the app's lifespan."""

    def __init__(
        self,
        settings: ServingSettings,
        registry: Registry | RegistryLink | Bundle,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Serve ``settings.models`` from ``registry`` (a :class:`RegistryLink` opens it only when
        the catalog is first needed), or from a baked :class:`Bundle` (no catalog: no alias
        moves, no drift status, nothing to follow but the baked version)."""
        if not settings.models:
            raise InvalidInput(
                "no model to serve: pass REF arguments or set FERRY_MODEL=name@alias"
            )
        self.default_model = default_model(settings)
        self.settings = settings
        if isinstance(registry, Bundle):
            self.link: RegistryLink | None = None
            self.source: RegistryLink | Bundle = registry
        else:
            link = registry if isinstance(registry, RegistryLink) else RegistryLink.to(registry)
            self.link = self.source = link
        self.loader = ModelLoader(self.source, model_cache(settings, self.source), settings)
        self.metrics = ServingMetrics(settings.low_confidence)
        self.capture = prediction_log(settings, self.source.settings, self.metrics)
        self.live = live_models(settings, clock)
        self._by_ref = {str(live.ref): key for key, live in self.live.items()}
        """Each whole reference → its key: ``churn@production`` names the model ``churn``."""
        self.metrics.start(self.live)
        self.drift = (
            DriftStatus(lambda: link.get().catalog, self.live, _DRIFT_READ_SECONDS, time.monotonic)
            if self.link is not None
            else None
        )
        self.in_flight = InFlight()
        self._batchers = {name: self._batcher(model) for name, model in self.live.items()}
        self.rollouts = self._rollout_loop(self.link, clock) if self.link is not None else None
        self.follower = AliasFollower(
            self.live, self.source, self.loader, settings, self.metrics, self.rollouts
        )
        self.swapped = self.follower.swapped
        """Notified after every first load, swap and refusal."""
        self.labels = Feedback(self.capture, self.model, self.rollouts)
        self._remember = self.labels.remember  # predict's call, with no method in between
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def registry(self) -> Registry | None:
        """The registry, opened on first use (a start from the cache does not need it); None
        for a bundle."""
        return self.link.get() if self.link is not None else None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Begin loading (eager) and following aliases; returns at once (liveness)."""
        self.follower.start()
        self._tasks.append(asyncio.create_task(self._start_capture()))
        if self.rollouts is not None:
            self._tasks.append(asyncio.create_task(self._follow_rollouts(self.rollouts)))

    async def stop(self) -> None:
        """Stop following, drain the batchers and write the prediction log."""
        for task in self._tasks:
            task.cancel()
        await self.follower.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for batcher in self._batchers.values():
            await batcher.close()
        if self.rollouts is not None:
            await self.rollouts.close()
        await asyncio.to_thread(self.capture.close)

    async def _start_capture(self) -> None:
        """Start the log writer once the models are up (Arrow and pandas load at its first
        flush with rows, never before readiness), and alias notifications with it. Rows logged
        before are kept."""
        await self.first_loads()
        gc.freeze()  # start-up objects leave the collector's view: shorter full collections
        self.capture.start()
        self.follower.listen()

    async def first_loads(self) -> None:
        """Wait until every eager first load has finished (successfully or not)."""
        await self.follower.first_loads()

    async def refresh(self, name: str) -> None:
        """One poll of ``name``'s reference: load or swap when it moved."""
        await self.follower.refresh(name)

    def _rollout_loop(
        self, link: RegistryLink, clock: Callable[[], datetime] | None
    ) -> RolloutLoop:
        """The rollouts of the served models, read from (and judged into) the catalog, which is
        opened at the loop's first tick (after readiness), not at start."""

        def store() -> Rollouts:
            from ferry.registry.rollouts import Rollouts

            return Rollouts(link.get())

        def load(name: str, version: str) -> LoadedVersion:
            return self.loader.load(link.resolve(f"{name}:{version}"))

        first = {key: live for key, live in self.live.items() if key == live.name}
        return RolloutLoop(
            store, first, load=load, batcher=self._batcher, refresh=self.refresh,
            metrics=self.metrics, clock=clock or _utcnow,
            replica=f"{replica_id(self.settings.replica_id)}-{uuid.uuid4().hex[:6]}",
        )  # fmt: skip

    async def _follow_rollouts(self, rollouts: RolloutLoop) -> None:
        """Tick the rollout loop once per poll interval after the first loads (like the alias
        follower: a start from the cache opens no catalog before its first poll)."""
        await self.first_loads()
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            await rollouts.tick()

    # -- predictions --------------------------------------------------------------------

    def model(self, name: str | None) -> LiveModel:
        """The served model a request names (the only one when it names none)."""
        if name is None:
            if len(self.live) == 1:
                return next(iter(self.live.values()))
            raise InvalidInput(f"this server serves {sorted(self.live)}: name the model")
        try:
            return self.live[self._by_ref.get(name, name)]
        except KeyError:
            raise NotFound(
                f"model {name!r} is not served here; served: {sorted(self.live)}"
            ) from None

    def served_as(self, name: str, version: str | None) -> str:
        """The key of the reference of ``name`` serving ``version`` (v2's version path), else
        ``name`` itself: two references of one model are told apart by their versions."""
        for key, live in self.live.items():
            if live.name == name and live.current is not None and live.current.version == version:
                return key
        return name

    async def serving(self, name: str | None) -> LoadedVersion:
        """The version answering for ``name``; with lazy loading, the first call loads it."""
        live = self.model(name)
        if live.current is None and self.settings.load == "lazy":
            await asyncio.shield(self.follower.first_load(live.key))
        return live.serving()

    async def predict(
        self,
        name: str | None,
        rows: np.ndarray,
        request_id: str | None = None,
        spec: InputSpec | None = None,
        key: str | None = None,
    ) -> Prediction:
        """Answer ``rows`` (validated against ``spec``) through the micro-batcher of the variant
        the sticky ``key`` (else the request id) routes to while a rollout runs."""
        live = self.model(name)
        spec = spec or live.serving().spec
        request_id = (
            request_id or os.urandom(16).hex()
        )  # a uuid4's randomness, a quarter of its cost
        slot, route = (
            self.rollouts.route(live.key, key or request_id) if self.rollouts else (None, SINGLE)
        )
        answered = None
        if slot is not None and route.answer == CANDIDATE and self.rollouts is not None:
            answered = await self.rollouts.answer(slot, rows, spec)
        variant = PRIMARY if answered is None else CANDIDATE
        if answered is None:
            answered = await self._primary(live, rows, spec, slot)
        share, loaded = answered
        outputs = Outputs(*share)
        confidence = outputs.row_confidence()
        if slot is not None and self.rollouts is not None:
            if route.compare and variant == route.answer:
                self.rollouts.copy(slot, route, rows, outputs, spec, self._batchers[live.key])
            self.rollouts.remember(slot, request_id, variant, outputs, loaded)
        self.metrics.predicted(live.key, confidence)
        self.capture.record(
            live.name,
            loaded.version,
            loaded.spec.column_names,
            request_id,
            rows,
            _logged(outputs),
            confidence,
        )
        self._remember(request_id, live.name)
        return Prediction(outputs, loaded, request_id, variant, live.key)

    async def _primary(
        self, live: LiveModel, rows: np.ndarray, spec: InputSpec, slot: Slot | None
    ) -> tuple[tuple[Any, ...], LoadedVersion]:
        """The primary's answer; timed and counted for the analysis while a rollout runs."""
        if slot is None:
            return await self._batchers[live.key].submit(rows, spec)
        figures, started = slot.figures.variants[PRIMARY], time.perf_counter()
        try:
            answered = await self._batchers[live.key].submit(rows, spec)
        except Exception:
            figures.observe(time.perf_counter() - started, failed=True)
            raise
        figures.observe(time.perf_counter() - started, failed=False)
        return answered

    def _batcher(self, live: LiveModel, primary: bool = True) -> MicroBatcher[LoadedVersion]:
        """The micro-batcher ``live`` answers through; a rollout's candidate's (``primary``
        false) waits only for the requests already routed to it."""

        def run(rows: np.ndarray, spec: Hashable) -> tuple[tuple[Any, ...], LoadedVersion]:
            loaded = live.serving()
            if loaded.spec != spec:
                raise NotReady(
                    f"{live.ref} changed its inputs ({loaded.reference}) while the request "
                    "waited; send it again"
                )
            outputs = loaded.runner.run(rows)
            if outputs.rows != len(rows):  # one row out per row in, or no answer at all
                raise RuntimeError(
                    f"{loaded.reference} answered {outputs.rows} rows for {len(rows)}"
                )
            return outputs.per_row(), loaded

        return MicroBatcher(
            run,
            max_batch_size=self.settings.max_batch_size,
            max_wait=self.settings.max_batch_wait_ms / 1000,
            in_flight=self.in_flight,
            primary=primary,
            on_batch=self.metrics.batch_size.labels(live.key).observe,
            inline=lambda rows: (
                live.current is not None and runs_on_loop(live.current.runner.backend, rows)
            ),
        )

    # -- feedback and health ------------------------------------------------------------

    async def feedback(self, request_id: str, label: Any, model: str | None) -> str:
        """Record a ground-truth label durably (see :meth:`Feedback.record`); returns the model
        it was filed under."""
        return await self.labels.record(request_id, label, model)

    def metrics_text(self) -> bytes:
        """The Prometheus exposition (reads the catalog for drift: call it off the event loop)."""
        try:
            drift = self.drift.findings() if self.drift is not None else {}
        except Exception:  # a catalog outage must not take the process metrics down with it
            log.exception("could not read the newest monitor checks for /metrics")
            drift = {}
        return self.metrics.render(list(self.live.values()), drift)

    @property
    def ready(self) -> bool:
        """True when every model is loaded, verified and warmed up."""
        return all(live.ready for live in self.live.values())

    def health(self) -> dict[str, Any]:
        """Per-model status, version, load and warm-up figures, cache hit, age, last swap."""
        return health.report(self.live, self.rollouts, self.capture)


def _logged(outputs: Outputs) -> np.ndarray:
    """What the prediction log records as the prediction: labels or values; nulls for
    transformers, whose vectors are not logged."""
    if outputs.predictions is not None:
        return outputs.predictions
    return np.full(outputs.rows, None, dtype=object)


def _utcnow() -> datetime:
    return datetime.now(UTC)
