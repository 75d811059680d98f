"""RunLock: at most one training run or monitor step per model at a time, across processes.

Two overlapping runs would both compare against the same champion and could both promote; the
lock makes the second one stop at once with :class:`~ferry.errors.RunInProgress` instead of
waiting, so a scheduler skips a tick rather than piling runs up. It is an advisory ``flock`` on a
file in ``$FERRY_HOME/locks/``: the kernel releases it when the holder exits, even on a crash, so
a stale lock never blocks the next run. The file records the holder (``{"pid", "run_id"}``), so
whoever is refused learns which run to follow.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from ferry.errors import RunInProgress
from ferry.registry.refs import check_name

LOCKS_DIR = "locks"
_HOLDER_BYTES = 256


class RunLock:
    """A non-blocking, process-wide lock on one model's training."""

    def __init__(self, home: Path, model: str) -> None:
        self.path = Path(home) / LOCKS_DIR / f"{check_name(model)}.lock"
        self.model = model
        self._descriptor: int | None = None

    def acquire(self, run_id: str | None = None) -> None:
        """Take the lock for ``run_id`` (None: a monitor step that may start a run later), or
        raise :class:`RunInProgress` naming the run and the process that hold it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, holder = _holder(os.pread(descriptor, _HOLDER_BYTES, 0))
            os.close(descriptor)
            raise _in_progress(self.model, pid, holder) from None
        self._descriptor = descriptor
        self.record(run_id)

    def record(self, run_id: str | None) -> None:
        """Write which run holds the lock (a monitor step does once it starts retraining)."""
        if self._descriptor is None:
            raise RuntimeError("record() needs the lock held: call acquire() first")
        text = json.dumps({"pid": os.getpid(), "run_id": run_id}).encode()
        os.ftruncate(self._descriptor, 0)
        os.pwrite(self._descriptor, text, 0)

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


def _holder(content: bytes) -> tuple[str, str | None]:
    """The holder's process id and run id; a bare process id is what older versions wrote."""
    text = content.decode(errors="replace").strip()
    try:
        holder = json.loads(text)
    except ValueError:
        return text or "unknown", None
    if not isinstance(holder, dict):
        return text or "unknown", None
    run_id = holder.get("run_id")
    return str(holder.get("pid", "unknown")), run_id if isinstance(run_id, str) else None


def _in_progress(model: str, pid: str, run_id: str | None) -> RunInProgress:
    if run_id is None:
        return RunInProgress(
            f"a run of {model} is already in progress (process {pid}, a monitor check); "
            "wait for it to finish",
            None,
        )
    return RunInProgress(
        f"a run of {model} is already in progress (run {run_id}, process {pid}); wait for it "
        f"to finish, or follow it with `ferry runs --id {run_id}`",
        run_id,
    )
