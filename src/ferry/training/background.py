"""Pipeline runs started over HTTP: queued at once, executed in a background thread.

This is the server's "Train Model" button (``POST /train``): the request returns the run id
immediately and ``GET /runs/{id}`` follows the run through the catalog's run records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ferry.errors import InvalidInput, NotFound
from ferry.registry.registry import Registry
from ferry.training.estimators import DEFAULT_PREFIXES
from ferry.training.lock import RunLock
from ferry.training.runner import TrainingRun, queue_run
from ferry.training.runs import RunStore, new_run_id
from ferry.training.spec import PipelineSpec, load_spec

log = logging.getLogger("ferry.training")


class BackgroundTrainer:
    """Finds a model's pipeline file, queues a run and executes it off the request thread."""

    def __init__(
        self,
        registry: Registry,
        pipelines: Sequence[Path] = (),
        prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
    ) -> None:
        self.registry = registry
        self.prefixes = prefixes
        self.pipelines = {
            spec.model.name: spec for spec in (load_spec(p, prefixes=prefixes) for p in pipelines)
        }
        self._threads: list[threading.Thread] = []

    def start(self, model: str, force: bool = False) -> str:
        """Take ``model``'s run lock, queue a run and start it; returns the run id.

        The lock is taken before anything is recorded, so a request made while a run is going
        gets :class:`~ferry.errors.RunInProgress` with that run's id (409) and leaves no trace.
        """
        spec = self._spec(model)
        run_id = new_run_id()
        lock = RunLock(self.registry.settings.home, spec.model.name)
        lock.acquire(run_id)
        try:
            queue_run(spec, self.registry, trigger="api", run_id=run_id)
            thread = threading.Thread(
                target=self._execute,
                args=(spec, run_id, force, lock),
                name=f"ferry-run-{run_id}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        except BaseException:
            lock.release()
            raise
        return run_id

    def run(self, run_id: str) -> dict[str, Any]:
        """The run record as JSON; :class:`NotFound` for an unknown id."""
        return RunStore(self.registry.catalog).get(run_id).to_dict()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the runs started so far (shutdown and tests)."""
        for thread in self._threads:
            thread.join(timeout)

    def _spec(self, model: str) -> PipelineSpec:
        if model in self.pipelines:
            return self.pipelines[model]
        path = RunStore(self.registry.catalog).last_pipeline(model)
        if path is None:
            raise NotFound(
                f"no pipeline file known for model {model!r}: run `ferry train PIPELINE` once "
                "or start the server with --pipeline PIPELINE"
            )
        spec = load_spec(Path(path), prefixes=self.prefixes)
        if spec.model.name != model:
            raise InvalidInput(f"{path} now trains {spec.model.name!r}, not {model!r}")
        return spec

    def _execute(self, spec: PipelineSpec, run_id: str, force: bool, lock: RunLock) -> None:
        """Run with the lock ``start`` took, and let it go however the run ends."""
        try:
            TrainingRun(spec, self.registry, force=force, trigger="api", run_id=run_id).execute()
        except Exception as error:  # recorded in the run by the runner; nothing to raise into
            log.error("run %s of %s failed: %s", run_id, spec.model.name, error)
        finally:
            lock.release()
