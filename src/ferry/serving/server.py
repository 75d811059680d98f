"""ModelServer: the served models, their loaders, batchers, log and metrics, and their lifecycle.

The HTTP layer (``app.py``) only parses, calls :meth:`ModelServer.predict` and formats; this
class knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import time
import uuid
from collections.abc import Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ferry.config import RegistrySettings, ServingSettings, replica_id
from ferry.errors import InvalidInput, NotFound, NotReady
from ferry.flavors.tasks import Outputs
from ferry.logstore.retention import LogRetention
from ferry.logstore.store import LogStore
from ferry.registry.refs import ModelRef
from ferry.serving import health
from ferry.serving.age import AgeLimit
from ferry.serving.batching import InFlight, MicroBatcher, runs_on_loop
from ferry.serving.bundle import Bundle
from ferry.serving.cache import ModelCache
from ferry.serving.capture import PredictionLog
from ferry.serving.drift_status import DriftStatus
from ferry.serving.feedback import Feedback
from ferry.serving.inputs import InputSpec
from ferry.serving.live import Backoff, LiveModel, follow_once
from ferry.serving.loader import LoadedVersion, ModelLoader
from ferry.serving.metrics import ServingMetrics
from ferry.serving.registry_link import RegistryLink
from ferry.serving.resolutions import Resolutions
from ferry.serving.rollout import RolloutLoop, Slot
from ferry.serving.startup import process_age_ms
from ferry.serving.traffic import CANDIDATE, PRIMARY, SINGLE

if TYPE_CHECKING:
    from ferry.registry.registry import Registry
    from ferry.registry.rollouts import Rollouts
    from ferry.registry.version import ModelVersion
    from ferry.serving.notifications import AliasListener

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
        self.default_model = _default_model(settings)
        self.settings = settings
        if isinstance(registry, Bundle):
            self.link: RegistryLink | None = None
            self.source: RegistryLink | Bundle = registry
        else:
            link = registry if isinstance(registry, RegistryLink) else RegistryLink.to(registry)
            self.link = self.source = link
        cache = _cache(settings, self.source)
        self.loader = ModelLoader(self.source, cache, settings)
        self.resolutions = (
            Resolutions.in_cache(cache.root, self.link.settings.catalog_url) if self.link else None
        )
        self.metrics = ServingMetrics(settings.low_confidence)
        self.capture = _prediction_log(settings, self.source.settings, self.metrics)
        self.live: dict[str, LiveModel] = {}
        age_limit = (
            AgeLimit(settings.max_model_age_days, settings.max_model_age)
            if settings.max_model_age_days is not None
            else None
        )
        for ref in settings.models:
            model = LiveModel(
                ref, backoff=Backoff(settings.poll_interval), age_limit=age_limit, clock=clock,
                key=_key(ref, self.live),
            )  # fmt: skip
            if model.key in self.live or any(model.ref == live.ref for live in self.live.values()):
                raise InvalidInput(f"{ref!r} is named twice in {list(settings.models)}")
            self.live[model.key] = model
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
        self.labels = Feedback(self.capture, self.model, self.rollouts)
        self._remember = self.labels.remember  # predict's call, with no method in between
        self._tasks: list[asyncio.Task[None]] = []
        self._first_loads: dict[str, asyncio.Task[None]] = {}
        self._listener: AliasListener | None = None
        self._refreshing = {name: asyncio.Lock() for name in self.live}
        self._background: set[asyncio.Task[None]] = set()
        self.swapped = asyncio.Condition()
        self._confirmed: set[str] = set()
        self._resolve_ms: dict[str, float] = {}
        self._process_ms: float | None = None

    @property
    def registry(self) -> Registry | None:
        """The registry, opened on first use (a start from the cache does not need it); None
        for a bundle."""
        return self.link.get() if self.link is not None else None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Begin loading (eager) and following aliases; returns at once (liveness)."""
        self._process_ms = process_age_ms()  # interpreter and imports, until the first load
        self._spawn(self._start_capture())
        for name in self.live:
            if self.settings.load == "eager":
                self._first_loads[name] = asyncio.create_task(self.refresh(name))
            self._tasks.append(asyncio.create_task(self._follow(name)))
        if self.rollouts is not None:
            self._tasks.append(asyncio.create_task(self._follow_rollouts(self.rollouts)))

    async def stop(self) -> None:
        """Stop following, drain the batchers and write the prediction log."""
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        tasks = [*self._tasks, *self._first_loads.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for batcher in self._batchers.values():
            await batcher.close()
        if self.rollouts is not None:
            await self.rollouts.close()
        await asyncio.to_thread(self.capture.close)

    async def _start_capture(self) -> None:
        """Start the log writer once the models are up (Arrow and pandas load at its first
        flush with rows, never before readiness). Rows logged before are kept."""
        await self.first_loads()
        gc.freeze()  # start-up objects leave the collector's view: shorter full collections
        self.capture.start()
        if self.link is not None and self.link.dialect == "postgresql":
            self._listen()

    def _listen(self) -> None:
        """Follow alias moves by PostgreSQL notification, from once the models are up; each
        time LISTEN is in place every loaded model is checked, so no earlier move is missed."""
        from ferry.serving.notifications import AliasListener

        loop = asyncio.get_running_loop()
        self._listener = AliasListener(
            self.source.settings.catalog_url,
            lambda name: loop.call_soon_threadsafe(self._notified, name),
            lambda: loop.call_soon_threadsafe(self._check_loaded),
        )
        self._listener.start()

    async def first_loads(self) -> None:
        """Wait until every eager first load has finished (successfully or not)."""
        if self._first_loads:
            await asyncio.wait(list(self._first_loads.values()))

    async def refresh(self, name: str) -> None:
        """One poll of ``name``'s reference: load or swap when it moved.

        One refresh per model at a time: a slow load finishing after a newer one must not
        install an older target, and each refresh resolves the alias afresh once it holds the lock.
        """
        async with self._refreshing[name]:
            resolve = functools.partial(self._timed_resolve, name)
            load = functools.partial(self._load, name)
            await follow_once(self.live[name], resolve, load, self._swapped)
        rollouts, link = self.rollouts, self.link
        if rollouts is not None and link is not None and link.opened and name in rollouts.live:
            # a rollout follows a model's first reference; a cache-fast start syncs at its tick
            await rollouts.sync(self.live[name])

    def _timed_resolve(self, name: str, ref: str) -> ModelVersion:
        started = time.perf_counter()
        version = self._resolve(name, ref)
        self._resolve_ms[name] = (time.perf_counter() - started) * 1000
        return version

    def _load(self, name: str, version: ModelVersion) -> LoadedVersion:
        """The loader's work plus the phases before it: resolving, and for a first load the
        process's start (interpreter and imports). A promoted candidate is already loaded and
        warm beside the primary: it is taken as it is."""
        served = name in self.rollouts.live if self.rollouts else False
        reused = self.rollouts.reuse(name, version.version) if self.rollouts and served else None
        if reused is not None:
            return reused
        loaded = self.loader.load(version)
        loaded.startup_ms["resolve"] = self._resolve_ms.get(name, 0.0)
        if self.live[name].current is None and self._process_ms is not None:
            loaded.startup_ms["interpreter_and_imports"] = self._process_ms
        return loaded

    def _resolve(self, name: str, ref: str) -> ModelVersion:
        """What ``ref`` points at: at the first load the cached resolution when there is one
        (no catalog opened), from then on the catalog, whose answer is kept for the next start."""
        if self.resolutions is None:
            return self.source.resolve(ref)
        if name not in self._confirmed:
            self._confirmed.add(name)
            cached = self.resolutions.get(ref) if self.live[name].current is None else None
            if cached is not None:
                return cached
        version = self.source.resolve(ref)
        self.resolutions.put(ref, version)
        return version

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

    async def _follow(self, name: str) -> None:
        first = self._first_loads.get(name)
        if first is not None:
            await asyncio.wait([first])
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            if self.live[name].current is None and self.settings.load == "lazy":
                continue  # lazy: the first request loads it
            try:
                await self.refresh(name)
            except Exception:  # a poll failing (catalog down) must not stop the follower
                log.exception("could not check %s for a new version", self.live[name].ref)
            self.live[name].age()  # a version past its age limit is alerted on while it serves

    def _notified(self, name: str) -> None:
        """PostgreSQL said an alias of ``name`` moved: check it now rather than at the next poll."""
        for key, live in self.live.items():
            if live.name == name:
                self._spawn(self.refresh(key))

    def _check_loaded(self) -> None:
        for name, live in self.live.items():
            if live.current is not None:
                self._spawn(self.refresh(name))

    def _swapped(self, live: LiveModel, result: str) -> None:
        self.metrics.swaps.labels(live.key, result).inc()
        if live.current is not None and result in ("loaded", "swapped"):
            self.metrics.loaded(live.current, live.key)
        self._spawn(self._announce())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _announce(self) -> None:
        async with self.swapped:
            self.swapped.notify_all()

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
            task = self._first_loads.get(live.key)
            if task is None:
                task = self._first_loads[live.key] = asyncio.create_task(self.refresh(live.key))
            await asyncio.shield(task)
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


def _cache(settings: ServingSettings, source: RegistryLink | Bundle) -> ModelCache:
    """The loader's cache: a bundle is its own (compiled graph included), else the cache dir."""
    if isinstance(source, Bundle):
        return ModelCache(source.root)
    return ModelCache(settings.cache_dir or source.settings.home / "cache")


def _logged(outputs: Outputs) -> np.ndarray:
    """What the prediction log records as the prediction: labels or values; nulls for
    transformers, whose vectors are not logged."""
    if outputs.predictions is not None:
        return outputs.predictions
    return np.full(outputs.rows, None, dtype=object)


def _prediction_log(
    settings: ServingSettings, where: RegistrySettings, metrics: ServingMetrics
) -> PredictionLog:
    """The log writer at ``FERRY_LOG_DIR`` (default the registry's home), this replica's stream."""
    store = LogStore(where.log_url, where.storage_options)
    return PredictionLog(
        store,
        replica=replica_id(settings.replica_id),
        sample_rate=settings.log_sample_rate,
        flush_rows=settings.log_flush_rows,
        flush_seconds=settings.log_flush_seconds,
        events=metrics,
        retention=LogRetention(settings.log_retention_days, settings.log_max_bytes),
        max_pending_rows=settings.log_max_pending_rows,
    )


def _key(ref: str, served: Mapping[str, LiveModel]) -> str:
    """The name requests use for ``ref``: the model's name for its first reference, the whole
    reference (``churn@canary``) for a further one."""
    name = ModelRef.parse(ref).name
    return str(ModelRef.parse(ref)) if name in served else name


def _default_model(settings: ServingSettings) -> str:
    """The model MLflow's ``/invocations`` answers for: FERRY_DEFAULT_MODEL, else the first."""
    served = [ModelRef.parse(ref).name for ref in settings.models]
    wanted = settings.default_model
    if wanted is None:
        return served[0]
    if wanted not in served:
        raise InvalidInput(f"FERRY_DEFAULT_MODEL={wanted!r} is not served here; served: {served}")
    return wanted


def _utcnow() -> datetime:
    return datetime.now(UTC)
