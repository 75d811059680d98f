"""LiveModel: the version that answers for one reference, and how it changes.

A swap prepares the new version completely (fetch, verify, compile, warm up) beside the one
serving, then replaces one attribute. A batch already running keeps the object it started with,
so in-flight requests finish on the old version; a target that fails to load is refused and
remembered, and the old version keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ferry.errors import NotFound, NotReady
from ferry.registry.refs import ModelRef
from ferry.registry.registry import ModelVersion
from ferry.serving.loader import LoadedVersion

log = logging.getLogger("ferry.serving")


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


class LiveModel:
    """Holds the loaded version for one reference (``churn@production``)."""

    def __init__(self, ref: str) -> None:
        self.ref = ModelRef.parse(ref)
        self.current: LoadedVersion | None = None
        self.status = "loading"
        self.error: str | None = None
        self.last_swap: SwapResult | None = None
        self._refused: str | None = None

    @property
    def name(self) -> str:
        """The model name requests use."""
        return self.ref.name

    def serving(self) -> LoadedVersion:
        """The version to answer with, or :class:`NotReady` saying why there is none."""
        current = self.current
        if current is not None:
            return current
        if self.status == "failed":
            raise NotReady(f"{self.ref} is not available: {self.error}")
        raise NotReady(f"{self.ref} is still loading; retry shortly")

    def install(self, loaded: LoadedVersion) -> None:
        """Start serving ``loaded`` (first load or swap): one reference flip."""
        previous = self.current
        self.current = loaded
        self.status, self.error = "ready", None
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
        """The first load failed: nothing to serve; the reason goes into health and 503s."""
        self.status, self.error = "failed", error
        log.error("cannot serve %s: %s", self.ref, error)

    def refuse(self, target: str, error: str) -> None:
        """A new target failed to load: keep serving the current version."""
        self._refused = target
        self.last_swap = SwapResult("refused", target, _now(), error)
        log.error("refused %s for %s, still serving the old version: %s", target, self.ref, error)

    def wants(self, version: ModelVersion) -> bool:
        """True when ``version`` is new and not a target already refused."""
        current = self.current
        if current is not None and current.version == version.version:
            self._refused = None
            return False
        return version.reference != self._refused


async def follow_once(
    live: LiveModel,
    resolve: Callable[[str], ModelVersion],
    load: Callable[[ModelVersion], LoadedVersion],
    on_swap: Callable[[LiveModel, str], None],
) -> None:
    """One poll: resolve the reference and, if it moved, prepare and swap in the new target."""
    try:
        version = await asyncio.to_thread(resolve, str(live.ref))
    except NotFound as error:
        if live.current is None:
            live.fail(f"{error}; register one with `ferry register` or `POST /train`")
        return
    if not live.wants(version):
        return
    try:
        loaded = await asyncio.to_thread(load, version)
    except Exception as error:  # any failure must leave the old version serving
        message = f"{type(error).__name__}: {error}"
        if live.current is None:
            live.fail(message)
        else:
            live.refuse(version.reference, message)
        on_swap(live, "refused" if live.current is not None else "failed")
        return
    first = live.current is None
    live.install(loaded)
    on_swap(live, "loaded" if first else "swapped")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
