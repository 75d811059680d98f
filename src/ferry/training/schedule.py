"""Cron scheduling of the monitor with APScheduler 3 (``pip install ferry[schedule]``).

One job, ``max_instances=1`` and ``coalesce=True``: a tick that comes while the previous one
still runs is dropped, and ticks missed while the machine slept run once, not once per miss.
Across processes (a second scheduler, a ``ferry monitor`` by hand) the model's
:class:`~ferry.training.lock.RunLock` keeps runs apart: the later one is skipped. A tick that
fails has already been recorded and alerted by the monitor; the scheduler logs it and goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from ferry.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from ferry.registry.registry import Registry
    from ferry.training.alerts import Alerter
    from ferry.training.clock import Clock
    from ferry.training.loop import Monitor, MonitorResult
    from ferry.training.spec import PipelineSpec

logger = logging.getLogger("ferry.schedule")

JOB_ID = "ferry-monitor"
MISFIRE_GRACE_SECONDS = 3600
"""A tick up to an hour late (a busy or sleeping machine) still runs; later ones are dropped."""

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


def cron_trigger(expression: str, timezone: str = "UTC") -> BaseTrigger:
    """A trigger with standard crontab meaning; :class:`InvalidInput` names a bad expression.

    APScheduler 3 reads crontab fields its own way in two places, so the expression is
    translated: day-of-week numbers follow cron (0 or 7 = Sunday, 1 = Monday), not
    APScheduler's 0 = Monday; and when both day-of-month and day-of-week are restricted the
    job runs on either, as cron does, not only on days matching both.
    """
    fields = expression.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"got {len(fields)} fields")
        minute, hour, day, month, weekday = fields
        weekdays = _weekdays(weekday)
        common = {"minute": minute, "hour": hour, "month": month, "timezone": timezone}
        if day != "*" and weekday != "*":
            return OrTrigger(
                [CronTrigger(day=day, **common), CronTrigger(day_of_week=weekdays, **common)]
            )
        return CronTrigger(day=day, day_of_week=weekdays, **common)
    except (ValueError, LookupError) as error:
        raise InvalidInput(
            f"schedule.cron = {expression!r} (timezone {timezone!r}) is not valid: {error}; "
            "use five crontab fields, e.g. '0 2 * * *'"
        ) from None


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekdays(field: str) -> str:
    """A cron day-of-week field as the explicit day names APScheduler reads unambiguously."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        stride = int(step) if step else 1
        if stride < 1:
            raise ValueError(f"day-of-week step {step!r} must be positive")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, _, high = base.partition("-")
            first, last = _day(low), _day(high)
        else:
            first = _day(base)
            last = 6 if step else first
        if first > last:
            raise ValueError(f"day-of-week range {base!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, stride))
    return ",".join(_DAYS[day] for day in sorted(days))


def _day(text: str) -> int:
    name = text.strip().lower()
    if name in _DAYS:
        return _DAYS.index(name)
    if not name.isdigit() or not 0 <= int(name) <= 7:
        raise ValueError(f"day of week {text!r} is not 0-7 or a name like mon")
    return int(name)


def next_fire_times(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times ``trigger`` fires after ``after`` (time passed in, not read)."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = after
    while len(times) < count:
        upcoming: datetime | None = trigger.get_next_fire_time(previous, now)
        if upcoming is None:
            break
        times.append(upcoming)
        previous, now = upcoming, upcoming
    return times


@dataclass(frozen=True)
class Tick:
    """What one scheduled run did: ok, skipped (another run held the lock) or failed."""

    status: str
    message: str
    result: MonitorResult | None = None


class ScheduledMonitor:
    """The scheduler's job: one monitor step that never raises."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    @classmethod
    def of(
        cls,
        spec: PipelineSpec,
        registry: Registry,
        *,
        alerter: Alerter | None = None,
        clock: Clock | None = None,
    ) -> ScheduledMonitor:
        """The job ``ferry schedule`` runs for ``spec``: a monitor step recorded with trigger
        ``schedule``, retraining as ``[schedule] retrain`` says (``always``: at every tick)."""
        from ferry.training.clock import system_clock
        from ferry.training.loop import Monitor

        monitor = Monitor(
            spec,
            registry,
            alerter=alerter,
            clock=clock or system_clock,
            trigger="schedule",
        )
        return cls(monitor)

    def tick(self) -> Tick:
        """Run one step; report instead of raising, so the scheduler keeps going."""
        from ferry.training.result import describe_error

        name = self.monitor.spec.model.name
        try:
            result = self.monitor.step()
        except Conflict as error:
            logger.info("skipped %s: %s", name, error)
            return Tick(SKIPPED, str(error))
        except Exception as error:
            message = describe_error(error)
            logger.error("monitor step of %s failed: %s", name, message)
            return Tick(FAILED, message)
        logger.info("%s: %s (%s)", name, result.reason, result.action)
        return Tick(OK, result.reason, result)


def build_scheduler(
    job: Callable[[], object], trigger: BaseTrigger, timezone: str = "UTC"
) -> BackgroundScheduler:
    """A background scheduler with ``job`` on ``trigger``, not yet started."""
    scheduler = BackgroundScheduler(timezone=timezone)
    scheduler.add_job(
        job,
        trigger,
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    return scheduler


def run_until_stopped(
    scheduler: BackgroundScheduler,
    stop: threading.Event,
    on_started: Callable[[datetime | None], None] | None = None,
) -> None:
    """Start ``scheduler``, wait for ``stop`` (set by a signal handler), then shut down cleanly.

    Shutting down waits for a running tick to finish, so a run is never cut off halfway; its
    steps are recorded either way.
    """
    scheduler.start()
    job = scheduler.get_job(JOB_ID)
    if on_started is not None:
        on_started(None if job is None else job.next_run_time)
    try:
        while not stop.wait(timeout=1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
