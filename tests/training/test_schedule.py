"""Scheduling with time injected: the cron trigger driven directly, the job called directly,
and a real ``ferry schedule`` process stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ferry.errors import InvalidInput
from ferry.training import Monitor, run_pipeline
from ferry.training.alerts import Alerter
from ferry.training.lock import RunLock
from ferry.training.runs import RunStore
from ferry.training.schedule import (
    JOB_ID,
    ScheduledMonitor,
    build_scheduler,
    cron_trigger,
    next_fire_times,
)
from ferry.training.spec import load_spec

NOW = datetime.now(UTC).replace(microsecond=0)


def test_the_cron_trigger_fires_when_it_should():
    trigger = cron_trigger("0 2 * * *")
    start = datetime(2026, 1, 1, 1, 30, tzinfo=UTC)
    assert next_fire_times(trigger, start, 3) == [
        datetime(2026, 1, d, 2, 0, tzinfo=UTC) for d in (1, 2, 3)
    ]
    weekly = cron_trigger("30 6 * * 1", "Europe/Paris")
    (first,) = next_fire_times(weekly, datetime(2026, 1, 1, tzinfo=UTC), 1)
    assert first.weekday() == 0 and first.hour == 6 and first.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("weekday", "days"),
    [
        ("0", {"Sun"}),
        ("7", {"Sun"}),
        ("1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("5-7", {"Fri", "Sat", "Sun"}),
        ("*/2", {"Sun", "Tue", "Thu", "Sat"}),
        ("sat,sun", {"Sat", "Sun"}),
    ],
)
def test_weekdays_mean_what_they_mean_in_cron(weekday, days):
    """APScheduler 3 counts 0 as Monday; ferry keeps crontab's meaning (0 and 7 are Sunday)."""
    fires = next_fire_times(
        cron_trigger(f"0 2 * * {weekday}"), datetime(2026, 1, 1, tzinfo=UTC), 14
    )
    assert {moment.strftime("%a") for moment in fires} == days


def test_day_of_month_or_day_of_week_as_in_cron():
    fires = next_fire_times(cron_trigger("0 2 1 * 1"), datetime(2026, 1, 28, tzinfo=UTC), 3)
    assert [moment.date().isoformat() for moment in fires] == [
        "2026-02-01",
        "2026-02-02",
        "2026-02-09",
    ]
    with pytest.raises(InvalidInput, match="backwards"):
        cron_trigger("0 2 * * 5-1")
    with pytest.raises(InvalidInput, match="five crontab fields"):
        cron_trigger("every night")
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        cron_trigger("0 2 * * *", "Mars/Olympus")


def test_the_job_never_overlaps_and_catches_up_once():
    scheduler = build_scheduler(lambda: None, cron_trigger("*/5 * * * *"))
    job = scheduler.get_job(JOB_ID)
    assert job is not None and job.max_instances == 1 and job.coalesce is True


@pytest.fixture
def ticker(sqlite_registry, write_pipeline, webhook):
    spec = load_spec(write_pipeline(extra=f'[alerts]\nwebhook = "{webhook.url}"'))
    run_pipeline(spec, sqlite_registry)
    alerter = Alerter(webhook.url, sleep=lambda seconds: None)
    return ScheduledMonitor(Monitor(spec, sqlite_registry, alerter=alerter, clock=lambda: NOW))


def test_a_tick_while_another_run_holds_the_lock_is_skipped(ticker, sqlite_registry):
    with RunLock(sqlite_registry.settings.home, "cancer"):
        tick = ticker.tick()
    assert tick.status == "skipped" and "already in progress" in tick.message
    assert RunStore(sqlite_registry.catalog).checks("cancer") == []
    assert ticker.tick().status == "ok"


def test_a_failed_tick_is_recorded_and_alerted_and_the_next_one_runs(
    ticker, sqlite_registry, webhook, workdir
):
    profile = sqlite_registry.settings.home / "models" / "cancer" / "v1.0.0" / "extras"
    stored = next(profile.iterdir())
    original = stored.read_bytes()
    stored.write_bytes(b"corrupted")
    failed = ticker.tick()
    assert failed.status == "failed" and "sha256" in failed.message
    assert webhook.kinds() == ["run_failed"]
    assert RunStore(sqlite_registry.catalog).checks("cancer")[0].status == "failed"
    stored.write_bytes(original)
    assert ticker.tick().status == "ok"


def test_sigterm_stops_the_scheduler_cleanly(write_pipeline, tmp_path):
    path = write_pipeline()
    env = {**os.environ, "FERRY_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from ferry.cli.main import main; main()",
         "schedule", str(path), "--cron", "0 2 * * *"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("scheduled cancer: cron '0 2 * * *'; next run at "), line
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "stopped" and "Traceback" not in err


@pytest.mark.parametrize("retrain", ["always", "on_drift"])
def test_retrain_always_retrains_at_every_tick_and_the_gate_still_decides(
    sqlite_registry, write_pipeline, retrain
):
    """The current file is the training data itself: no drift, so only "always" retrains; the
    retrained candidate is the same model, so the promotion policy rejects it."""
    schedule = f'[schedule]\ncron = "0 */6 * * *"\nretrain = "{retrain}"'
    extra = f'[drift]\ncurrent = "train.csv"\n{schedule}'
    spec = load_spec(write_pipeline(extra=extra))
    assert spec.schedule.retrain == retrain
    run_pipeline(spec, sqlite_registry)
    tick = ScheduledMonitor.of(spec, sqlite_registry, clock=lambda: NOW).tick()
    assert tick.status == "ok" and tick.result is not None
    assert tick.result.drift is False
    if retrain == "on_drift":
        assert tick.result.action == "none" and tick.result.reason == "no drift"
        assert len(sqlite_registry.list_versions("cancer")) == 1
        return
    run = tick.result.run
    assert tick.result.action == "retrained" and run is not None
    assert 'retrain = "always"' in tick.result.reason
    assert run.decision == "rejected" and run.version == "1.1.0"
    assert sqlite_registry.resolve("cancer@production").version == "1.0.0"
    record = RunStore(sqlite_registry.catalog).get(run.run_id)
    assert record.trigger == "schedule"


def test_a_bad_retrain_mode_is_refused_naming_the_key(write_pipeline):
    with pytest.raises(InvalidInput, match=r"schedule\.retrain.*'always'.*'on_drift'"):
        load_spec(write_pipeline(extra='[schedule]\nretrain = "daily"'))


def test_schedule_help_reads_well():
    from typer.testing import CliRunner

    from ferry.cli.main import app

    result = CliRunner().invoke(app, ["schedule", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "default: the pipeline's schedule.cron" in text
    assert 'schedule.retrain = "always"' in text
    assert "default: cron." not in text
