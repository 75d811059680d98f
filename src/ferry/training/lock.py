"""RunLock: at most one training run or monitor step per model at a time, across processes.

Two overlapping runs would both compare against the same champion and could both promote; the
lock makes the second one stop at once with :class:`~ferry.errors.Conflict` instead of waiting,
so a scheduler skips a tick rather than piling runs up. It is an advisory ``flock`` on a file in
``$FERRY_HOME/locks/``: the kernel releases it when the holder exits, even on a crash, so a
stale lock never blocks the next run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ferry.errors import Conflict
from ferry.registry.refs import check_name

LOCKS_DIR = "locks"


class RunLock:
    """A non-blocking, process-wide lock on one model's training."""

    def __init__(self, home: Path, model: str) -> None:
        self.path = Path(home) / LOCKS_DIR / f"{check_name(model)}.lock"
        self.model = model
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`Conflict` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise Conflict(
                f"a run of {self.model} is already in progress (process {holder}); "
                "wait for it to finish"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        """Let the next run in."""
        if self._descriptor is not None:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
            os.close(self._descriptor)
            self._descriptor = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
