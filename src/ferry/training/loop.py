"""Monitor: one step of the continuous-training loop.

``step()`` reads the current data, checks it against the champion's reference profile (data,
prediction and, where labels exist, performance drift), retrains when the retrain policy says
so, lets the promotion policy decide, sends alerts and records the check. Each of those is a
named method; ``step`` only calls them in order. A step that fails is recorded, alerted and
raised, so the scheduler can log it and carry on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ferry.drift import DriftDetector, DriftReport
from ferry.drift.distribution import distributions
from ferry.errors import InvalidInput
from ferry.logstore.store import LogStore
from ferry.registry.registry import ModelVersion, Registry
from ferry.training import alerts
from ferry.training.alerts import Alert, Alerter
from ferry.training.champion import current_champion
from ferry.training.clock import Clock, iso, system_clock
from ferry.training.current import CurrentData, from_file, from_log
from ferry.training.lock import RunLock
from ferry.training.policy import REJECTED, RetrainDecision, RetrainPolicy
from ferry.training.prediction_log import read_window
from ferry.training.reference import champion_reference, input_columns
from ferry.training.result import RunFailed, RunResult, describe_error
from ferry.training.runner import StepListener, TrainingRun
from ferry.training.runs import FAILED, CheckRecord, RunStore, new_run_id
from ferry.training.spec import PREDICTION_LOG, PipelineSpec

NONE, RETRAINED = "none", "retrained"
ON_DRIFT, ALWAYS = "on_drift", "always"
RETRAIN_MODES = (ON_DRIFT, ALWAYS)
"""``[schedule] retrain``: retrain when drift says so, or at every step (the gate still decides)."""


@dataclass(frozen=True)
class MonitorResult:
    """What one step found and did; ``to_dict`` is the ``ferry monitor --json`` contract."""

    drift: bool
    performance_drift: bool | None
    action: str
    report: DriftReport | None
    run: RunResult | None
    reason: str
    alerts: tuple[Alert, ...] = ()
    notes: tuple[str, ...] = ()
    check: CheckRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{drift, performance_drift, action, report, run}``."""
        return {
            "drift": self.drift,
            "performance_drift": self.performance_drift,
            "action": self.action,
            "report": None if self.report is None else self.report.to_dict(),
            "run": None if self.run is None else self.run.to_dict(),
        }


@dataclass
class _Step:
    """What the current step has learned so far (one per call of ``step``)."""

    now: datetime
    dry_run: bool
    lock: RunLock
    champion: ModelVersion | None = None
    current: CurrentData | None = None
    report: DriftReport | None = None
    retrain: RetrainDecision = field(default_factory=lambda: RetrainDecision(False))
    run: RunResult | None = None
    reason: str = ""
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Monitor:
    """Watches one pipeline's champion and retrains it when it drifts."""

    def __init__(
        self,
        spec: PipelineSpec,
        registry: Registry,
        *,
        alerter: Alerter | None = None,
        clock: Clock = system_clock,
        listener: StepListener | None = None,
        trigger: str = "monitor",
        retrain: str | None = None,
    ) -> None:
        retrain = retrain or spec.schedule.retrain
        if retrain not in RETRAIN_MODES:
            raise InvalidInput(f"retrain={retrain!r}: choose one of {RETRAIN_MODES}")
        self.spec = spec
        self.registry = registry
        self.alerter = alerter or Alerter(
            spec.alerts.webhook, timeout=spec.alerts.timeout, retries=spec.alerts.retries
        )
        self.clock = clock
        self.listener = listener
        self.trigger = trigger
        self.retrain = retrain
        self.store = RunStore(registry.catalog)

    def step(self, *, dry_run: bool = False) -> MonitorResult:
        """Check, and retrain if needed, holding the model's run lock throughout.

        ``dry_run`` checks and reports only: no retrain, no alert, nothing recorded (so the
        next real step reads the same window).
        """
        with RunLock(self.registry.settings.home, self.spec.model.name) as lock:
            state = _Step(self.clock(), dry_run, lock)
            try:
                return self._step(state)
            except Exception as error:
                if not dry_run:
                    self._failed(state, error)
                raise

    def _step(self, state: _Step) -> MonitorResult:
        state.champion = current_champion(
            self.registry, self.spec.model.name, self.spec.promotion.alias
        )
        if state.champion is None:
            state.reason = "no champion yet: training the first model"
            self._retrain(state)
            return self._finish(state)
        reference = champion_reference(self.registry, state.champion, self.spec.drift)
        detector = reference.detector
        state.notes.extend(reference.notes)
        state.current = self._current(state.champion, state.now)
        self._health(state, state.champion, state.current)
        if state.current.rows < self.spec.drift.min_rows:
            state.reason = (
                f"{state.current.rows} current rows, fewer than drift.min_rows = "
                f"{self.spec.drift.min_rows}: nothing checked"
            )
            self._retrain_anyway(state)
            return self._finish(state)
        state.report = self._check(detector, state.current)
        state.retrain = RetrainPolicy(on=self.spec.drift.retrain_on).decide(state.report)
        if state.retrain.retrain:
            state.reason = "; ".join(state.retrain.reasons)
            self._alert(state, alerts.DRIFT_DETECTED, state.reason, _drift_details(state.report))
            self._retrain(state)
        else:
            state.reason = "no drift"
            self._retrain_anyway(state)
        return self._finish(state)

    # -- the steps ----------------------------------------------------------------------

    def _current(self, champion: ModelVersion, now: datetime) -> CurrentData:
        columns = input_columns(champion)
        source = self.spec.drift.current
        if source != PREDICTION_LOG:
            loaded = self.registry.load(champion.reference)
            return from_file(Path(source), columns, self.spec.data.target, loaded)
        since = self.store.last_window_end(self.spec.model.name, PREDICTION_LOG)
        start = None if since is None else datetime.fromisoformat(since)
        settings = self.registry.settings
        log = LogStore(settings.log_url, settings.storage_options)
        window = read_window(log, self.spec.model.name, start, now)
        return from_log(window, columns, champion.version, self.spec.drift.min_rows)

    def _health(self, state: _Step, champion: ModelVersion, current: CurrentData) -> None:
        """Alerts that need no drift test: the champion's age and its confidence."""
        limits = self.spec.alerts
        age = (state.now - datetime.fromisoformat(champion.created_at)).total_seconds() / 86400
        if limits.max_model_age_days and age > limits.max_model_age_days:
            message = (
                f"{champion.reference} is {age:.0f} days old, older than "
                f"max_model_age_days = {limits.max_model_age_days:g}"
            )
            self._alert(state, alerts.MODEL_TOO_OLD, message, {"age_days": round(age, 2)})
        self._low_confidence(state, current)

    def _low_confidence(self, state: _Step, current: CurrentData) -> None:
        """Alert when more than ``low_confidence_share`` of the window's predictions have a
        confidence below ``low_confidence`` (the server counts the same rows the same way:
        ``ferry_low_confidence``, ``FERRY_LOW_CONFIDENCE``)."""
        limits, confidence = self.spec.alerts, current.confidence
        if confidence is None or len(confidence) < self.spec.drift.min_rows:
            return
        low = int((confidence < limits.low_confidence).sum())
        share = low / len(confidence)
        if share <= limits.low_confidence_share:
            return
        message = (
            f"{share:.0%} of {len(confidence)} predictions have confidence below "
            f"{limits.low_confidence:g} (low_confidence_share = {limits.low_confidence_share:g})"
        )
        details = {"share": share, "low": low, "rows": len(confidence),
                   "threshold": limits.low_confidence}  # fmt: skip
        self._alert(state, alerts.LOW_CONFIDENCE, message, details)

    def _check(self, detector: DriftDetector, current: CurrentData) -> DriftReport:
        predictions = current.predictions
        if detector.prediction_profiles_ is None:
            predictions = None
        labels = None
        has_baseline = detector.performance_baseline_ is not None
        if (
            predictions is not None
            and has_baseline
            and (current.labelled >= self.spec.drift.min_labels)
        ):
            labels = current.labels
        return detector.check(current.features, predictions=predictions, labels=labels)

    def _retrain(self, state: _Step) -> None:
        if state.dry_run:
            state.reason += " (dry run: not retrained)"
            return
        run_id = new_run_id()
        state.lock.record(run_id)  # a POST /train refused now learns which run to follow
        run = TrainingRun(
            self.spec,
            self.registry,
            run_id=run_id,
            trigger=self.trigger,
            listener=self.listener,
            clock=self.clock,
        )
        try:
            state.run = run.execute()
        except RunFailed as error:
            self._alert(state, alerts.RUN_FAILED, str(error), {"run_id": error.run_id})
            raise
        if state.run.decision == REJECTED:
            message = (
                f"candidate {self.spec.model.name}:{state.run.version} rejected: {state.run.reason}"
            )
            self._alert(state, alerts.CANDIDATE_REJECTED, message, {"run_id": state.run.run_id})

    def _retrain_anyway(self, state: _Step) -> None:
        """``retrain = "always"``: a step that found no reason to retrain retrains all the same
        (a schedule such as "every night"); the promotion policy still decides."""
        if self.retrain != ALWAYS:
            return
        state.reason += '; retrain = "always": retraining on schedule'
        self._retrain(state)

    def _alert(self, state: _Step, kind: str, message: str, details: dict[str, Any]) -> None:
        alert = Alert(kind, self.spec.model.name, message, iso(state.now), details)
        state.alerts.append(alert)
        if not state.dry_run:
            self.alerter.send(alert)

    # -- recording ----------------------------------------------------------------------

    def _finish(self, state: _Step) -> MonitorResult:
        report, current = state.report, state.current
        performance = None if report is None or report.performance is None else report.performance
        result = MonitorResult(
            drift=bool(report is not None and (report.dataset_drift or report.prediction_drift)),
            performance_drift=None if performance is None else performance.drifted,
            action=RETRAINED if state.run is not None else NONE,
            report=report,
            run=state.run,
            reason=state.reason,
            alerts=tuple(state.alerts),
            notes=tuple(state.notes) + (() if current is None else current.notes),
        )
        if state.dry_run:
            return result
        consumed = current is not None and (report is not None or current.source != PREDICTION_LOG)
        run_id = None if state.run is None else state.run.run_id
        check = self._record(state, result, consumed, run_id=run_id)
        return MonitorResult(**{**result.__dict__, "check": check})

    def _failed(self, state: _Step, error: BaseException) -> None:
        message = f"monitor step failed: {describe_error(error)}"
        run_id = error.run_id if isinstance(error, RunFailed) else None
        if run_id is None:
            self._alert(state, alerts.RUN_FAILED, message, {})
        action = NONE if run_id is None else RETRAINED
        result = MonitorResult(
            False, None, action, state.report, None, message, tuple(state.alerts)
        )
        self._record(state, result, False, run_id=run_id, error=describe_error(error))

    def _record(
        self,
        state: _Step,
        result: MonitorResult,
        consumed: bool,
        *,
        run_id: str | None,
        error: str | None = None,
    ) -> CheckRecord:
        current, report = state.current, state.report
        return self.store.add_check(
            CheckRecord(
                model=self.spec.model.name,
                pipeline=self.spec.origin,
                checked_at=iso(state.now),
                source=self.spec.drift.current,
                window_start=_iso(None if current is None else current.start),
                window_end=_iso(None if current is None else current.end),
                consumed=consumed,
                rows=0 if current is None else current.rows,
                champion_version=None if state.champion is None else state.champion.version,
                drift=result.drift if report is not None else None,
                performance_drift=result.performance_drift,
                action=result.action,
                run_id=run_id,
                status="ok" if error is None else FAILED,
                summary=_summary(state, result),
                error=error,
            ),
            None if report is None else [entry.to_dict() for entry in distributions(report)],
        )


def _summary(state: _Step, result: MonitorResult) -> dict[str, Any]:
    """What a person reading the check later wants: why, which alerts, which features."""
    summary: dict[str, Any] = {
        "reason": result.reason,
        "alerts": [alert.kind for alert in state.alerts],
        "notes": list(result.notes),
    }
    report = state.report
    if report is not None:
        summary["drift_share"] = report.drift_share
        summary["drifted"] = [feature.name for feature in report.drifted_features]
        if report.performance is not None:
            summary["performance"] = report.performance.to_dict()
    return summary


def _drift_details(report: DriftReport) -> dict[str, Any]:
    """The drift alert's details: small enough for a chat message (the full report is in
    ``ferry monitor --json``)."""
    performance = report.performance
    return {
        "drift_share": report.drift_share,
        "drifted": [feature.name for feature in report.drifted_features[:20]],
        "prediction_drift": report.prediction_drift,
        "performance": None if performance is None else performance.to_dict(),
        "current_rows": report.current_rows,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)
