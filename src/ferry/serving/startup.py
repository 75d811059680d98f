"""Where a server's start-up time goes: per-phase timings for ``/model/health``.

A single "load took 150 ms" hides what a user could act on (imports? the catalog? hashing a big
file?). The loader times each phase of opening a version; the server adds how long the process
took to reach its first load and how long the reference took to resolve.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOAD_PHASES = ("fetch", "verify", "open_session")
"""The phases ``load_ms`` adds up: opening the verified model, hash checks included."""
PHASES = ("interpreter_and_imports", "resolve", *LOAD_PHASES, "warm_up")
"""Every phase ``startup_ms`` reports, in the order they happen."""


class Phases:
    """Milliseconds spent in each named phase (a phase timed twice adds up)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.ms: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``phase``."""
        started = self.clock()
        try:
            yield
        finally:
            self.ms[phase] += (self.clock() - started) * 1000

    @property
    def load_ms(self) -> float:
        """Fetch + verify + open session: the time to open the verified model."""
        return sum(self.ms[phase] for phase in LOAD_PHASES)


def process_age_ms() -> float | None:
    """Milliseconds since this process started (Linux, 10 ms resolution), else None."""
    try:
        fields = Path("/proc/self/stat").read_bytes().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start, in ticks
        return (time.clock_gettime(time.CLOCK_BOOTTIME) - started) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return None
