"""The latest drift finding per served model, read from the catalog for ``/metrics``.

``ferry monitor`` usually runs elsewhere (a cron job, a CronJob in Kubernetes) and records each
check in the catalog; the servers are what Prometheus scrapes, so they export what the last check
found. The catalog is read at most once per ``interval`` seconds, however often it is scraped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ferry.registry.catalog import Catalog


@dataclass(frozen=True)
class DriftFinding:
    """What the newest monitor check of one model found."""

    share: float
    detected: bool


class DriftStatus:
    """Cached reads of the newest monitor check of each model."""

    def __init__(
        self,
        catalog: Catalog | Callable[[], Catalog],
        models: Iterable[str],
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        self._catalog = catalog
        self.models = tuple(models)
        self.interval = interval
        self.clock = clock
        self._read_at: float | None = None
        self._findings: dict[str, DriftFinding] = {}

    def findings(self) -> dict[str, DriftFinding]:
        """Model name → its newest finding; models never checked are absent."""
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.interval:
            self._findings = self._read()
            self._read_at = now
        return self._findings

    @property
    def catalog(self) -> Catalog:
        """The catalog (a callable given instead is asked at the first read, not at start)."""
        return self._catalog() if callable(self._catalog) else self._catalog

    def _read(self) -> dict[str, DriftFinding]:
        from sqlalchemy import func, select  # the first scrape, not the start, pays for it

        from ferry.registry.tables import monitor_checks

        newest = (
            select(func.max(monitor_checks.c.id))
            .where(
                monitor_checks.c.model_name.in_(self.models), monitor_checks.c.drift.is_not(None)
            )
            .group_by(monitor_checks.c.model_name)
        )
        query = select(
            monitor_checks.c.model_name, monitor_checks.c.drift, monitor_checks.c.summary
        ).where(monitor_checks.c.id.in_(newest))
        with self.catalog.reading() as session:
            rows = session.connection.execute(query).all()
        findings = {}
        for name, drift, summary in rows:
            share = json.loads(summary or "{}").get("drift_share")
            findings[name] = DriftFinding(float(share or 0.0), bool(drift))
        return findings
