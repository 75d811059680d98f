"""AliasFollower: keeps each served reference on the version its alias points at.

The server answers with whatever version is live; which version that is changes from outside, on
its own schedule, when someone moves an alias. Following is that schedule, kept apart from the
prediction path: a first load per reference (at start, or at the first request when loading is
lazy), then a poll every ``FERRY_POLL_INTERVAL``, woken at once by PostgreSQL's LISTEN/NOTIFY
where the catalog is PostgreSQL (``notifications.py``). Each poll resolves the reference, the
first one from the cached resolution when there is one (``resolutions.py``: a warm start opens
no catalog), and when it moved prepares the new target beside the live version and flips
(:func:`live.follow_once`). A rollout's candidate promoted to primary is already warm beside it,
and is taken as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from ferry.serving.live import LiveModel, follow_once
from ferry.serving.registry_link import RegistryLink
from ferry.serving.resolutions import Resolutions
from ferry.serving.startup import process_age_ms

if TYPE_CHECKING:
    from ferry.config import ServingSettings
    from ferry.registry.version import ModelVersion
    from ferry.serving.bundle import Bundle
    from ferry.serving.loader import LoadedVersion, ModelLoader
    from ferry.serving.metrics import ServingMetrics
    from ferry.serving.notifications import AliasListener
    from ferry.serving.rollout import RolloutLoop

log = logging.getLogger("ferry.serving")


class AliasFollower:
    """Loads each of ``live``'s references and swaps in its alias's new target; started and
    stopped by the server."""

    def __init__(
        self,
        live: Mapping[str, LiveModel],
        source: RegistryLink | Bundle,
        loader: ModelLoader,
        settings: ServingSettings,
        metrics: ServingMetrics,
        rollouts: RolloutLoop | None,
    ) -> None:
        self.live, self.source, self.loader = live, source, loader
        self.settings, self.metrics, self.rollouts = settings, metrics, rollouts
        self.link = source if isinstance(source, RegistryLink) else None
        self.resolutions = (
            Resolutions.in_cache(loader.cache.root, self.link.settings.catalog_url)
            if self.link
            else None
        )
        self.swapped = asyncio.Condition()
        """Notified after every first load, swap and refusal."""
        self._first_loads: dict[str, asyncio.Task[None]] = {}
        self._polls: list[asyncio.Task[None]] = []
        self._refreshing = {name: asyncio.Lock() for name in live}
        self._background: set[asyncio.Task[None]] = set()
        self._listener: AliasListener | None = None
        self._confirmed: set[str] = set()
        self._resolve_ms: dict[str, float] = {}
        self._process_ms: float | None = None

    def start(self) -> None:
        """Begin the first loads (eager) and each reference's polls; returns at once."""
        self._process_ms = process_age_ms()  # interpreter and imports, until the first load
        for name in self.live:
            if self.settings.load == "eager":
                self._first_loads[name] = asyncio.create_task(self.refresh(name))
            self._polls.append(asyncio.create_task(self._follow(name)))

    async def stop(self) -> None:
        """Stop listening and polling."""
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        tasks = [*self._polls, *self._first_loads.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def first_load(self, name: str) -> asyncio.Task[None]:
        """``name``'s first load, begun now if nothing began it (lazy: the first request)."""
        task = self._first_loads.get(name)
        if task is None:
            task = self._first_loads[name] = asyncio.create_task(self.refresh(name))
        return task

    async def first_loads(self) -> None:
        """Wait until every first load begun so far has finished (successfully or not)."""
        if self._first_loads:
            await asyncio.wait(list(self._first_loads.values()))

    def listen(self) -> None:
        """Follow alias moves by PostgreSQL notification too (the server calls this once the
        models are up); each time LISTEN is in place every loaded model is checked, so no
        earlier move is missed. Another catalog, or a bundle, is polled alone."""
        if self.link is None or self.link.dialect != "postgresql":
            return
        from ferry.serving.notifications import AliasListener

        loop = asyncio.get_running_loop()
        self._listener = AliasListener(
            self.link.settings.catalog_url,
            lambda name: loop.call_soon_threadsafe(self._notified, name),
            lambda: loop.call_soon_threadsafe(self._check_loaded),
        )
        self._listener.start()

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
