"""LiveModel: the version that answers for one reference, and how it changes.

A swap prepares the new version completely (fetch, verify, compile, warm up) beside the one
serving, then replaces one attribute. A batch already running keeps the object it started with,
so in-flight requests finish on the old version; a target that fails to load is refused and
remembered, and the old version keeps serving. A first load that fails (nothing to fall back
on) is retried with exponential backoff, and logged at ERROR only when the error changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ferry.errors import NotFound, NotReady
from ferry.registry.refs import ModelRef
from ferry.registry.version import ModelVersion
from ferry.serving.age import AgeLimit, AgeVerdict
from ferry.serving.loader import LoadedVersion

log = logging.getLogger("ferry.serving")
alerts = logging.getLogger("ferry.alerts")
RETRY_CAP_SECONDS = 300.0
"""The longest wait between two attempts at a version that keeps failing to load."""


@dataclass
class SwapResult:
    """The outcome of the last attempt to change versions."""

    result: str
    target: str
    at: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for health."""
        return {"result": self.result, "target": self.target, "at": self.at, "error": self.error}


@dataclass
class Backoff:
    """When a target that failed to load may be tried again: after ``base`` seconds, then
    twice as long after each further failure, never more than ``cap``; a new target at once."""

    base: float
    cap: float = RETRY_CAP_SECONDS
    target: str | None = None
    failures: int = 0
    next_at: float = 0.0

    def allows(self, target: str, now: float) -> bool:
        """True when ``target`` may be tried at ``now`` (monotonic seconds)."""
        return target != self.target or now >= self.next_at

    def failed(self, target: str, now: float) -> float:
        """Count a failure of ``target`` at ``now``; returns the wait before the next try."""
        if target != self.target:
            self.target, self.failures = target, 0
        self.failures += 1
        delay: float = min(self.cap, self.base * 2.0 ** min(self.failures - 1, 30))
        self.next_at = now + delay
        return delay

    def reset(self) -> None:
        """A load succeeded: the next failure starts from ``base`` again."""
        self.target, self.failures, self.next_at = None, 0, 0.0


class LiveModel:
    """Holds the loaded version for one reference (``churn@production``).

    ``age_limit`` (with ``clock``, injected for tests) takes a version past its age out of
    service or alerts on it; ``backoff`` paces retries of a first load that failed.
    """

    def __init__(
        self,
        ref: str,
        *,
        backoff: Backoff | None = None,
        age_limit: AgeLimit | None = None,
        clock: Callable[[], datetime] | None = None,
        key: str | None = None,
    ) -> None:
        self.ref = ModelRef.parse(ref)
        self.key = key or self.ref.name
        """The name requests use: the model's name, or the whole reference (``churn@canary``)
        for a further reference of a model the server already serves."""
        self.current: LoadedVersion | None = None
        self.status = "loading"
        self.error: str | None = None
        self.last_swap: SwapResult | None = None
        self.backoff = backoff or Backoff(1.0)
        self.age_limit = age_limit
        self.clock = clock or _utcnow
        self._refused: str | None = None
        self._age_alerted: str | None = None

    @property
    def name(self) -> str:
        """The model's name in the registry (``key`` is the name requests use)."""
        return self.ref.name

    @property
    def ready(self) -> bool:
        """True when a version is loaded and not refused for its age."""
        return self.current is not None and not self._too_old()

    def age(self) -> AgeVerdict | None:
        """The serving version's verdict against the age limit (None within it); alerts once
        per version when past it."""
        current = self.current
        if current is None or self.age_limit is None:
            return None
        verdict = self.age_limit.check(
            current.reference, current.metadata["created_at"], self.clock()
        )
        if verdict is not None and self._age_alerted != current.reference:
            self._age_alerted = current.reference
            alerts.warning("alert model_too_old for %s: %s", self.name, verdict.message)
        return verdict

    def _too_old(self) -> bool:
        verdict = self.age()
        return verdict is not None and verdict.refused

    def serving(self) -> LoadedVersion:
        """The version to answer with, or :class:`NotReady` saying why there is none."""
        current = self.current
        if current is not None:
            verdict = self.age()
            if verdict is not None and verdict.refused:
                raise NotReady(verdict.message)
            return current
        if self.status == "failed":
            raise NotReady(f"{self.ref} is not available: {self.error}")
        raise NotReady(f"{self.ref} is still loading; retry shortly")

    def install(self, loaded: LoadedVersion) -> None:
        """Start serving ``loaded`` (first load or swap): one reference flip."""
        previous = self.current
        self.current = loaded
        self.status, self.error = "ready", None
        self.backoff.reset()
        mean, _ = loaded.warmup_summary()
        log.info(
            "ready: %s as %s (%s backend, loaded in %.0f ms, warm-up mean %.3f ms, cache %s)",
            self.ref, loaded.reference, loaded.runner.backend, loaded.load_ms, mean,
            "hit" if loaded.cache_hit else "miss",
        )  # fmt: skip
        if previous is not None:
            self.last_swap = SwapResult("swapped", loaded.reference, _now())
            log.info("swapped %s: %s -> %s", self.ref, previous.version, loaded.version)

    def fail(self, error: str) -> None:
        """The first load failed: nothing to serve; the reason goes into health and 503s.

        Logged at ERROR when it changes, not at every poll that finds it unchanged.
        """
        changed = (self.status, self.error) != ("failed", error)
        self.status, self.error = "failed", error
        log.log(logging.ERROR if changed else logging.DEBUG, "cannot serve %s: %s", self.ref, error)

    def refuse(self, target: str, error: str) -> None:
        """A new target failed to load: keep serving the current version."""
        self._refused = target
        self.last_swap = SwapResult("refused", target, _now(), error)
        log.error("refused %s for %s, still serving the old version: %s", target, self.ref, error)

    def wants(self, version: ModelVersion, now: float) -> bool:
        """True when ``version`` is new, not a target already refused, and not waiting out
        its backoff after failing to load."""
        current = self.current
        if current is not None and current.version == version.version:
            if current.metadata != version.metadata:  # a stale cached resolution: load afresh
                log.warning("%s %s differs from the catalog's record; loading it again",
                            self.ref, version.reference)  # fmt: skip
                return self.backoff.allows(version.reference, now)
            self._refused = None
            return False
        return version.reference != self._refused and self.backoff.allows(version.reference, now)


async def follow_once(
    live: LiveModel,
    resolve: Callable[[str], ModelVersion],
    load: Callable[[ModelVersion], LoadedVersion],
    on_swap: Callable[[LiveModel, str], None],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """One poll: resolve the reference and, if it moved, prepare and swap in the new target."""
    try:
        version = await asyncio.to_thread(resolve, str(live.ref))
    except NotFound as error:
        if live.current is None:
            live.fail(f"{error}; register one with `ferry register` or `POST /train`")
        return
    if not live.wants(version, clock()):
        return
    try:
        loaded = await asyncio.to_thread(load, version)
    except Exception as error:  # any failure must leave the old version serving
        message = f"{type(error).__name__}: {error}"
        if live.current is None:
            live.fail(message)
            live.backoff.failed(version.reference, clock())
        else:
            live.refuse(version.reference, message)
        on_swap(live, "refused" if live.current is not None else "failed")
        return
    first = live.current is None
    live.install(loaded)
    on_swap(live, "loaded" if first else "swapped")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)
