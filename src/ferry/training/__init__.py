"""Continuous training: pipeline files, runs, promotion decisions and the monitor loop.

``run_pipeline(path, registry)`` trains, evaluates, registers and decides in one call;
``Monitor(spec, registry).step()`` is one turn of the loop. Scheduling lives in
``ferry.training.schedule`` (it needs the ``schedule`` extra).
"""

from __future__ import annotations

from ferry.registry.registry import Registry
from ferry.training.alerts import Alert, Alerter
from ferry.training.loop import Monitor, MonitorResult
from ferry.training.policy import Decision, PromotionPolicy, RetrainPolicy
from ferry.training.result import RunFailed, RunResult
from ferry.training.runner import queue_run, run_pipeline
from ferry.training.runs import RunRecord, RunStore
from ferry.training.spec import PipelineSpec, load_spec
from ferry.training.trainer import Trainer

__all__ = [
    "Alert",
    "Alerter",
    "Decision",
    "Monitor",
    "MonitorResult",
    "PipelineSpec",
    "PromotionPolicy",
    "RetrainPolicy",
    "RunFailed",
    "RunRecord",
    "RunResult",
    "RunStore",
    "Trainer",
    "get_run",
    "load_spec",
    "queue_run",
    "run_pipeline",
]


def get_run(registry: Registry, run_id: str) -> RunRecord:
    """One run by id (the server's ``GET /runs/{id}``); :class:`~ferry.errors.NotFound` if none."""
    return RunStore(registry.catalog).get(run_id)
