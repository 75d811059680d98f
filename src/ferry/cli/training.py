"""``ferry train``, ``runs``, ``stats``, ``monitor`` and ``schedule``: continuous training."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ferry.cli.models import open_registry
from ferry.cli.output import (
    JSON_OPTION,
    metrics_text,
    print_fields,
    print_json,
    print_table,
    reports_errors,
    when,
)
from ferry.errors import Unsupported

if TYPE_CHECKING:  # the training stack (pandas, scikit-learn) loads only when a command runs
    from ferry.training.loop import MonitorResult
    from ferry.training.result import RunResult
    from ferry.training.runs import RunRecord
    from ferry.training.spec import PipelineSpec

PIPELINE = typer.Argument(metavar="PIPELINE", help="The pipeline file (TOML).")


class ProgressBar:
    """Draws the run's steps on stderr (stdout stays clean for ``--json``); starts lazily."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def step_started(self, name: str, index: int, total: int) -> None:
        """Show the step about to run."""
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(name, total=total)
        self._progress.update(self._task, description=name, completed=index - 1, total=total)

    def step_finished(self, name: str, seconds: float) -> None:
        """Count the step done."""
        self._progress.advance(self._task)

    def close(self) -> None:
        """Stop drawing and clear the bar (the command prints its own summary)."""
        if self._task is not None:
            self._progress.stop()


@contextmanager
def progress_bar() -> Iterator[ProgressBar]:
    """A :class:`ProgressBar` that is stopped however the run ends."""
    bar = ProgressBar()
    try:
        yield bar
    finally:
        bar.close()


@contextmanager
def logging_to_stderr() -> Iterator[None]:
    """ferry's log (alerts, scheduler ticks) on stderr while a command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ferry")
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def read_pipeline(path: Path) -> PipelineSpec:
    """Load a pipeline with the estimator prefixes ``FERRY_ESTIMATOR_PREFIXES`` allows."""
    from ferry.training.estimators import DEFAULT_PREFIXES, check_prefixes
    from ferry.training.spec import load_spec

    configured = os.environ.get("FERRY_ESTIMATOR_PREFIXES")
    prefixes = DEFAULT_PREFIXES if not configured else check_prefixes(configured.split(","))
    return load_spec(path, prefixes=prefixes)


@reports_errors
def train(
    ctx: typer.Context,
    pipeline: Annotated[Path, PIPELINE],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if the policy rejects (recorded).")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Train, evaluate, register and promote (or reject) a model from a pipeline file."""
    from ferry.training.runner import run_pipeline

    spec = read_pipeline(pipeline)
    with open_registry(ctx) as registry, progress_bar() as bar:
        result = run_pipeline(spec, registry, force=force, trigger="cli", listener=bar)
    if as_json:
        print_json(result.to_dict())
        return
    _print_result(result, spec)


def _destination(decision: str, alias: str) -> str:
    """Where the new version went: an alias, a rollout on it, or nowhere."""
    from ferry.training.policy import ROLLOUT_BLOCKED, ROLLOUT_STARTED

    if decision == ROLLOUT_STARTED:
        return f"-> rollout on @{alias}"
    if decision == ROLLOUT_BLOCKED:
        return f"(@{alias} unchanged)"
    return f"-> @{'candidate' if decision == 'rejected' else alias}"


def _print_result(result: RunResult, spec: PipelineSpec) -> None:
    typer.echo(f"run {result.run_id}: {result.model}:{result.version} {result.decision} "
               f"{_destination(result.decision, spec.promotion.alias)}")  # fmt: skip
    typer.echo(f"reason: {result.reason}")
    typer.echo(f"holdout: {metrics_text(result.metrics)}")
    if result.champion_metrics is not None:
        typer.echo(f"champion {result.champion_version}: {metrics_text(result.champion_metrics)}")


@reports_errors
def runs(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Only this model's runs.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--id", metavar="RUN_ID", help="Show one run in full.")
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="How many of the newest runs.")] = 20,
    as_json: bool = JSON_OPTION,
) -> None:
    """The run history: status, timings, rows, metrics and decisions."""
    from ferry.training.runs import RunStore

    with open_registry(ctx) as registry:
        store = RunStore(registry.catalog)
        if run_id is not None:
            record = store.get(run_id)
            found = [record]
        else:
            found = store.recent(name, limit)
    if as_json:
        print_json(found[0].to_dict() if run_id is not None else [r.to_dict() for r in found])
    elif run_id is not None:
        _print_run(found[0])
    else:
        rows = [_run_row(record) for record in found]
        columns = ("id", "model", "started", "status", "version", "decision", "metric", "rows",
                   "compared")  # fmt: skip
        print_table("runs", columns, rows)


def _print_run(record: RunRecord) -> None:
    """One run: its fields, then its steps and its metrics beside the champion's."""
    fields = record.to_dict()
    for name in ("steps", "metrics", "cv_metrics", "champion_metrics", "comparison_metrics"):
        fields.pop(name)
    print_fields(f"run {record.id}", fields)
    steps = [(s["name"], f"{s['seconds']:.3f}", s["status"]) for s in record.steps]
    print_table("steps", ("step", "seconds", "status"), steps)
    holdout, cv = record.metrics or {}, record.cv_metrics or {}
    champion, compared = record.champion_metrics or {}, record.comparison_metrics or {}
    rows = [
        (name, *(_number(found.get(name)) for found in (holdout, cv, compared, champion)))
        for name in sorted(set(holdout) | set(champion))
    ]
    columns = ("metric", "holdout", "cv mean", "compared", "champion (compared)")
    print_table("metrics", columns, rows)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _run_row(record: RunRecord) -> tuple[Any, ...]:
    """One line per run; beside the champion, the candidate's value on the same rows."""
    metric = record.primary_metric
    value = (record.comparison_metrics or record.metrics or {}).get(metric or "")
    shown = "" if value is None else f"{metric}={value:.4g}"
    champion = (record.champion_metrics or {}).get(metric or "")
    if champion is not None:
        shown += f" (champion {champion:.4g})"
    return (
        record.id,
        record.model,
        when(record.started_at or record.created_at),
        record.status if record.error is None else f"{record.status}: {record.error}",
        record.version,
        record.decision,
        shown,
        record.rows,
        _compared(record),
    )


def _compared(record: RunRecord) -> str:
    """``108 (63 excluded)``: holdout rows both models were scored on, and those left out."""
    if record.comparison_rows is None:
        return ""
    return f"{record.comparison_rows} ({record.excluded_rows} excluded)"


@reports_errors
def stats(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Monitoring figures: retrain success rate, drift frequency, metric trend, time, volume."""
    from ferry.training.runs import RunStore
    from ferry.training.stats import model_stats

    with open_registry(ctx) as registry:
        store = RunStore(registry.catalog)
        figures = model_stats(name, store.recent(name), store.checks(name))
    if as_json:
        print_json(figures)
        return
    trend = figures.pop("metric_trend")
    print_fields(f"stats of {name}", figures)
    rows = [
        (when(p["at"]), p["version"], p["metric"], f"{p['value']:.4g}", p["decision"])
        for p in trend
    ]
    print_table("metric trend", ("when", "version", "metric", "value", "decision"), rows)


@reports_errors
def monitor(
    ctx: typer.Context,
    pipeline: Annotated[Path, PIPELINE],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report only: no retrain, no alert.")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """One step of the loop: check drift, retrain and decide if needed, alert.

    With schedule.retrain = "always" every step retrains (for an outside scheduler).
    """
    from ferry.training.loop import Monitor

    spec = read_pipeline(pipeline)
    with open_registry(ctx) as registry, progress_bar() as bar, logging_to_stderr():
        result = Monitor(spec, registry, listener=bar).step(dry_run=dry_run)
    if as_json:
        sys.stderr.write(f"monitor: {result.reason}\n")
        print_json(result.to_dict())
        return
    _print_monitor(result, dry_run)


def _print_monitor(result: MonitorResult, dry_run: bool) -> None:
    performance = {None: "not checked", True: "yes", False: "no"}[result.performance_drift]
    typer.echo(f"drift: {'yes' if result.drift else 'no'}; performance drift: {performance}")
    if result.report is not None:
        drifted = [feature.name for feature in result.report.drifted_features]
        typer.echo(
            f"checked {result.report.current_rows} rows: {len(drifted)} drifted features "
            f"{drifted[:10]}"
        )
    typer.echo(f"{'dry run: ' if dry_run else ''}{result.reason}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    for alert in result.alerts:
        typer.echo(f"alert {alert.kind}: {alert.message}")
    if result.run is not None:
        run = result.run
        typer.echo(f"run {run.run_id}: {run.model}:{run.version} {run.decision}: {run.reason}")


@reports_errors
def schedule(
    ctx: typer.Context,
    pipeline: Annotated[Path, PIPELINE],
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            metavar="CRON",
            help="Crontab expression, e.g. '0 2 * * *'; default: the pipeline's schedule.cron.",
        ),
    ] = None,
) -> None:
    """Run the monitor on a cron schedule until SIGTERM or Ctrl-C.

    Each tick retrains on drift, or every time with schedule.retrain = "always".
    """
    try:
        from ferry.training.schedule import (
            ScheduledMonitor,
            build_scheduler,
            cron_trigger,
            run_until_stopped,
        )
    except ImportError:
        raise Unsupported("scheduling needs APScheduler: pip install 'ferry[schedule]'") from None
    spec = read_pipeline(pipeline)
    expression = cron or spec.schedule.cron
    trigger = cron_trigger(expression, spec.schedule.timezone)
    stop = threading.Event()

    def started(next_run: datetime | None) -> None:
        shown = "never" if next_run is None else next_run.isoformat()
        typer.echo(
            f"scheduled {spec.model.name}: cron {expression!r}; next run at {shown}; "
            f"retrain {spec.schedule.retrain}"
        )
        sys.stdout.flush()

    with stop_signals(stop), open_registry(ctx) as registry, logging_to_stderr():
        ticker = ScheduledMonitor.of(spec, registry)
        scheduler = build_scheduler(ticker.tick, trigger, spec.schedule.timezone)
        run_until_stopped(scheduler, stop, started)
    typer.echo("stopped")


@contextmanager
def stop_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (the running tick finishes first); restored after."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
