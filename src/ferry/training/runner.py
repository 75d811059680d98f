"""One training run, step by step: load → split → fit → evaluate → profile → register →
champion → decide → promote, each step timed and recorded as it finishes.

The alias moves only in the last step, so a run that fails anywhere leaves every alias where it
was; the failure, and the step it happened in, are recorded on the run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ferry.drift import PROFILE_FILENAME, DriftDetector
from ferry.errors import InvalidInput, NotFound, RunInProgress
from ferry.registry.registry import ModelVersion, Registry
from ferry.training.champion import current_champion, score_champion
from ferry.training.clock import Clock, iso, system_clock
from ferry.training.comparison import (
    TIME_COLUMN_TAG,
    TIME_CUT_TAG,
    TRAINING_ROWS_FILE,
    ComparisonRows,
    comparison_rows,
    too_few_rows,
    trained_on,
    write_training_rows,
)
from ferry.training.data import TrainingData, prepare, read_source
from ferry.training.estimators import DEFAULT_PREFIXES
from ferry.training.evaluation import Evaluation, Split, evaluate, split_by_time, split_holdout
from ferry.training.lock import RunLock
from ferry.training.policy import FORCED, Decision, PromotionPolicy
from ferry.training.result import RunFailed, RunResult, describe_error
from ferry.training.rollout_start import hand_to_rollout
from ferry.training.runs import FAILED, RUNNING, SUCCEEDED, RunStore, new_run_id
from ferry.training.spec import REJECTED_ALIAS, PipelineSpec, load_spec
from ferry.training.trainer import CrossValidation, Trainer


class StepListener(Protocol):
    """Told as each step starts and ends (the CLI draws a progress bar with it)."""

    def step_started(self, name: str, index: int, total: int) -> None:
        """Step ``index`` of ``total`` (1-based) begins."""

    def step_finished(self, name: str, seconds: float) -> None:
        """The step ended successfully after ``seconds``."""


class TrainingRun:
    """Coordinates one run of a pipeline; the caller holds the model's :class:`RunLock`."""

    def __init__(
        self,
        spec: PipelineSpec,
        registry: Registry,
        *,
        force: bool = False,
        trigger: str = "cli",
        run_id: str | None = None,
        listener: StepListener | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.spec, self.registry, self.force, self.trigger = spec, registry, force, trigger
        self.run_id = run_id or new_run_id()
        self.listener, self.clock = listener, clock
        self.store = RunStore(registry.catalog)
        self._steps: list[dict[str, Any]] = []
        self._workdir: Path | None = None
        self._notes: list[str] = []

    def execute(self) -> RunResult:
        """Run every step; :class:`RunFailed` when one fails (the run is recorded as failed)."""
        self._begin()
        plan = self._plan()
        step = plan[0][0]
        try:
            for index, (step, action) in enumerate(plan, start=1):
                self._run_step(step, action, index, len(plan))
        except Exception as error:
            self._fail(step, error)
            raise RunFailed(self.run_id, step, error) from error
        finally:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
        return self._finish()

    def _plan(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("load", self._load),
            ("split", self._split),
            ("fit", self._fit),
            ("evaluate", self._evaluate),
            ("profile", self._profile),
            ("register", self._register),
            ("champion", self._evaluate_champion),
            ("decide", self._decide),
            ("promote", self._promote),
        ]

    # -- bookkeeping --------------------------------------------------------------------

    def _begin(self) -> None:
        now = iso(self.clock())
        name, origin = self.spec.model.name, self.spec.origin
        try:
            self.store.get(self.run_id)
        except NotFound:
            self.store.create(self.run_id, name, origin, self.trigger, now)
        self.store.update(self.run_id, status=RUNNING, started_at=now, steps=[])

    def _run_step(self, name: str, action: Callable[[], None], index: int, total: int) -> None:
        if self.listener is not None:
            self.listener.step_started(name, index, total)
        started_at, started = iso(self.clock()), time.perf_counter()
        try:
            action()
        except Exception:
            seconds = time.perf_counter() - started
            self._record_step(name, started_at, seconds, FAILED)
            raise
        seconds = time.perf_counter() - started
        self._record_step(name, started_at, seconds, SUCCEEDED)
        if self.listener is not None:
            self.listener.step_finished(name, seconds)

    def _record_step(self, name: str, started_at: str, seconds: float, status: str) -> None:
        entry = {"name": name, "started_at": started_at, "seconds": round(seconds, 6)}
        self._steps.append({**entry, "status": status})
        self.store.update(self.run_id, steps=self._steps, notes=self._notes)

    def _fail(self, step: str, error: BaseException) -> None:
        self.store.update(
            self.run_id,
            status=FAILED,
            ended_at=iso(self.clock()),
            error=f"{step}: {describe_error(error)}",
        )

    def _finish(self) -> RunResult:
        decision = self._decision
        champion = self._champion
        self.store.update(
            self.run_id,
            status=SUCCEEDED,
            ended_at=iso(self.clock()),
            decision=decision.decision,
            reason=decision.reason,
        )
        return RunResult(
            run_id=self.run_id,
            model=self.spec.model.name,
            version=self._version.version,
            status=SUCCEEDED,
            decision=decision.decision,
            reason=decision.reason,
            metrics=self._holdout.metrics,
            cv_metrics=self._cv.to_dict(),
            champion_metrics=None if self._champion_eval is None else self._champion_eval.metrics,
            champion_version=None if champion is None else champion.version,
            comparison_rows=None if self._comparison is None else self._comparison.rows,
            excluded_rows=None if self._comparison is None else self._comparison.excluded,
        )

    # -- the steps ----------------------------------------------------------------------

    def _load(self) -> None:
        spec = self.spec
        self._champion = current_champion(self.registry, spec.model.name, spec.promotion.alias)
        schema = None if self._champion is None else self._champion.metadata["input_schema"]
        self._data: TrainingData = prepare(
            read_source(spec.data),
            spec.data,
            task=spec.task,
            champion_schema=schema,
            allow_schema_change=self.force,
            time_column=spec.evaluation.time_column,
        )
        self._notes.extend(self._data.notes)
        self._check_drift_columns()
        champion_version = None if self._champion is None else self._champion.version
        self.store.update(self.run_id, rows=self._data.rows, champion_version=champion_version)

    def _check_drift_columns(self) -> None:
        """``[drift]`` column lists name features, checked before the model is fitted."""
        drift, features = self.spec.drift, set(self._data.features.columns)
        for key in ("categorical", "numeric", "ignore"):
            unknown = sorted(set(getattr(drift, key)) - features)
            if unknown:
                raise InvalidInput(
                    f"drift.{key} names columns that are not features: {unknown} "
                    f"(features: {sorted(features)[:20]})"
                )

    def _split(self) -> None:
        evaluation, data = self.spec.evaluation, self._data
        if data.times is not None:
            self._parts: Split = split_by_time(
                data.features, data.target, data.times, fraction=evaluation.holdout
            )
            return
        self._parts = split_holdout(
            self._data.features,
            self._data.target,
            task=self.spec.task,
            fraction=evaluation.holdout,
            random_state=evaluation.random_state,
        )

    def _fit(self) -> None:
        spec = self.spec
        self._trainer = Trainer(
            spec.new_estimator(),
            task=spec.task,
            primary_metric=spec.primary_metric,
            search_params=None if spec.search is None else spec.search.params,
            search_cv=3 if spec.search is None else spec.search.cv,
            cv_folds=spec.evaluation.cv_folds,
            random_state=spec.evaluation.random_state,
        ).fit(self._parts.train_features, self._parts.train_target)
        self.store.update(self.run_id, training_seconds=self._trainer.fit_seconds_)

    def _evaluate(self) -> None:
        parts, metric = self._parts, self.spec.primary_metric
        self._holdout: Evaluation = evaluate(
            self._trainer.model_, parts.test_features, parts.test_target, self.spec.task
        )
        if metric not in self._holdout.metrics:
            raise InvalidInput(
                f"evaluation.primary_metric = {metric!r} cannot be computed on the holdout "
                f"(computed: {sorted(self._holdout.metrics)})"
            )
        self._cv: CrossValidation = self._trainer.cross_validate(
            parts.train_features, parts.train_target
        )
        self.store.update(
            self.run_id,
            primary_metric=metric,
            metrics=self._holdout.metrics,
            cv_metrics=self._cv.to_dict(),
        )

    def _profile(self) -> None:
        """Fit the drift reference on every training row, with the outputs live traffic gets."""
        parts, drift = self._parts, self.spec.drift
        reference = pd.concat([parts.train_features, parts.test_features], ignore_index=True)
        predictions = self._reference_outputs(reference)
        metric = self.spec.performance_metric
        baseline = None if metric is None else self._holdout.metrics.get(metric)
        detector = DriftDetector(
            **drift.detector_params(),
            performance_metric=metric if baseline is not None else None,
            performance_baseline=baseline,
        ).fit(reference, predictions=predictions)
        self._profile_path = detector.save(self._scratch() / PROFILE_FILENAME)

    def _scratch(self) -> Path:
        """The run's temporary folder (removed when the run ends) for files to register."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="ferry-run-"))
        return self._workdir

    def _reference_outputs(self, reference: pd.DataFrame) -> Any:
        """Out-of-fold outputs for supervised models: outputs on rows a model was fitted on are
        too good (a forest predicts its own training labels), and would make live outputs look
        drifted. Cluster ids are arbitrary per fold, so a clusterer labels every row itself."""
        if self.spec.task == "clustering":
            return np.asarray(self._trainer.model_.predict(reference))
        if not self._cv.folds:
            return None
        return np.concatenate([self._cv.out_of_fold, self._holdout.predicted])

    def _register(self) -> None:
        spec, parts = self.spec, self._parts
        rows = write_training_rows(parts, self._scratch() / TRAINING_ROWS_FILE)
        metrics = dict(self._holdout.metrics)
        metrics.update({f"cv_{name}": value for name, value in self._cv.to_dict().items()})
        self._version: ModelVersion = self.registry.register(
            self._trainer.model_,
            spec.model.name,
            input_example=parts.train_features.head(10),
            metrics=metrics,
            training_data=self._data.frame,
            description=spec.model.description,
            tags=self._tags(),
            parent=None if self._champion is None else self._champion.version,
            extras={PROFILE_FILENAME: self._profile_path, TRAINING_ROWS_FILE: rows},
        )
        self.store.update(self.run_id, version=self._version.version)

    def _tags(self) -> dict[str, str]:
        trainer, parts = self._trainer, self._parts
        tags = {
            "ferry.run_id": self.run_id,
            "ferry.pipeline": self.spec.origin,
            "ferry.trained_at": iso(self.clock()),
            "ferry.training_seconds": f"{trainer.fit_seconds_:.3f}",
            "ferry.rows": str(self._data.rows),
            "ferry.train_rows": str(len(parts.train_features)),
            "ferry.holdout_rows": str(len(parts.test_features)),
            "ferry.task": self.spec.task,
            "ferry.primary_metric": self.spec.primary_metric,
        }
        if trainer.best_params_ is not None:
            tags["ferry.best_params"] = json.dumps(trainer.best_params_, default=str)
        if parts.time_cut is not None:
            tags[TIME_COLUMN_TAG] = self.spec.evaluation.time_column
            tags[TIME_CUT_TAG] = parts.time_cut
        return tags

    def _evaluate_champion(self) -> None:
        """Both models on the holdout rows neither was trained on (see ``comparison``)."""
        self._champion_eval: Evaluation | None = None
        self._candidate_eval: Evaluation = self._holdout
        self._champion_problem: str | None = None
        self._comparison: ComparisonRows | None = None
        if self._champion is None:
            return
        try:
            self._compare(self._champion)
        except Exception as error:
            if not self.force:
                raise
            self._champion_problem = describe_error(error)
            self._notes.append(f"the champion could not be evaluated: {self._champion_problem}")

    def _compare(self, champion: ModelVersion) -> None:
        rows = comparison_rows(
            self._data,
            self._parts,
            trained_on(self.registry, champion),
            time_column=self.spec.evaluation.time_column,
        )
        self._comparison = rows
        self._notes.extend(rows.notes)
        self.store.update(
            self.run_id, comparison_rows=rows.rows, excluded_rows=rows.excluded, notes=self._notes
        )
        if rows.rows < self.spec.evaluation.min_comparison_rows:
            return
        task = self.spec.task
        self._candidate_eval = evaluate(self._trainer.model_, rows.features, rows.target, task)
        self._champion_eval = score_champion(
            self.registry, champion, rows.features, rows.target, task
        )
        self.store.update(
            self.run_id,
            champion_metrics=self._champion_eval.metrics,
            comparison_metrics=self._candidate_eval.metrics,
        )

    def _decide(self) -> None:
        spec = self.spec
        if self._champion_problem is not None:
            reason = f"forced; the champion could not be evaluated: {self._champion_problem}"
            self._decision: Decision = Decision(FORCED, reason)
            return
        rows, minimum = self._comparison, spec.evaluation.min_comparison_rows
        if rows is not None and rows.rows < minimum:
            self._decision = too_few_rows(rows.rows, rows.excluded, minimum, force=self.force)
            return
        promotion = spec.promotion
        policy = PromotionPolicy(
            spec.primary_metric,
            task=spec.task,
            min_improvement=promotion.min_improvement,
            significance=promotion.significance,
            floors=promotion.floors,
            test=promotion.test,
            bootstrap_samples=promotion.bootstrap_samples,
            random_state=spec.evaluation.random_state,
        )
        decision = policy.decide(self._candidate_eval, self._champion_eval, force=self.force)
        self._decision = decision if rows is None else rows.described(decision)

    def _promote(self) -> None:
        name, version = self.spec.model.name, self._version.version
        plan = self.spec.promotion.rollout_plan()
        if plan is not None and self._decision.promotes and self._champion is not None:
            ref = f"{name}@{self.spec.promotion.alias}"
            self._decision = hand_to_rollout(
                self.registry, ref, version, plan, self._decision, self.run_id
            )
            return
        alias = self.spec.promotion.alias if self._decision.promotes else REJECTED_ALIAS
        reason = f"run {self.run_id}: {self._decision.decision}: {self._decision.reason}"
        self.registry.set_alias(name, alias, version, reason=reason[:2000])


def run_pipeline(
    spec: PipelineSpec | str | Path,
    registry: Registry,
    *,
    force: bool = False,
    trigger: str = "api",
    run_id: str | None = None,
    listener: StepListener | None = None,
    prefixes: tuple[str, ...] = DEFAULT_PREFIXES,
    clock: Clock = system_clock,
) -> RunResult:
    """Train, evaluate, register and decide, holding the model's run lock.

    The plain Python entry point (``run_id`` may come from :func:`queue_run`).
    :class:`RunFailed` when a step fails; :class:`~ferry.errors.RunInProgress`, naming the
    running run, when another run of the model holds the lock: the refused run leaves no
    record (a queued one is removed), so it never counts as a failed run.
    """
    if not isinstance(spec, PipelineSpec):
        spec = load_spec(spec, prefixes=prefixes)
    run_id = run_id or new_run_id()
    lock = RunLock(registry.settings.home, spec.model.name)
    try:
        lock.acquire(run_id)
    except RunInProgress:
        RunStore(registry.catalog).discard_queued(run_id)
        raise
    try:
        return TrainingRun(
            spec,
            registry,
            force=force,
            trigger=trigger,
            run_id=run_id,
            listener=listener,
            clock=clock,
        ).execute()
    finally:
        lock.release()


def queue_run(
    spec: PipelineSpec,
    registry: Registry,
    *,
    trigger: str = "api",
    clock: Clock = system_clock,
    run_id: str | None = None,
) -> str:
    """Record a queued run and return its id, before :func:`run_pipeline` starts it."""
    run_id = run_id or new_run_id()
    RunStore(registry.catalog).create(run_id, spec.model.name, spec.origin, trigger, iso(clock()))
    return run_id
