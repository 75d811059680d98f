"""Prometheus metrics of one server (its own registry, so tests and apps never share state).

With several workers (``ferry serve --workers N``), ``PROMETHEUS_MULTIPROC_DIR`` is set before
any worker starts, every worker writes its values there, and ``/metrics`` on any worker answers
the sum over all of them. The ``process_*`` and ``python_*`` figures describe one process, so that
combined view leaves them out: run one worker per pod (scale with replicas) to keep them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    import numpy as np

    from ferry.serving.drift_status import DriftFinding
    from ferry.serving.live import LiveModel
    from ferry.serving.loader import LoadedVersion

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
SWAP_RESULTS = ("loaded", "swapped", "refused", "failed")
"""Every ``result`` label of ``ferry_model_swaps_total`` (see ``live.follow_once``)."""


class ServingMetrics:
    """Every metric the server exports; names are part of ferry's public surface.

    The registry also carries the standard ``process_*``, ``python_info`` and ``python_gc_*``
    collectors, so CPU and memory are on the same scrape as the model figures.
    """

    def __init__(self, low_confidence: float) -> None:
        self.registry = CollectorRegistry()
        self.low_confidence = low_confidence
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.load_duration = Gauge(
            "ferry_model_load_duration_seconds", "Time to fetch, verify, compile and warm up a version.",
            ["model", "version", "backend"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.warmup_mean = Gauge(
            "ferry_model_warmup_mean_seconds",
            "Mean warm-up inference time.",
            ["model", "version"],
            registry=r,
        )
        self.warmup_p95 = Gauge(
            "ferry_model_warmup_p95_seconds",
            "p95 warm-up inference time.",
            ["model", "version"],
            registry=r,
        )
        self.cache_hits = Counter(
            "ferry_model_cache_hits", "Loads served from the local cache.", ["model"], registry=r
        )
        self.cache_misses = Counter(
            "ferry_model_cache_misses", "Loads that fetched or compiled.", ["model"], registry=r
        )
        self.requests = Counter(
            "ferry_requests", "Requests by model, version, variant, protocol and status.",
            ["model", "version", "variant", "protocol", "status"], registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "ferry_request_duration_seconds", "Request latency.",
            ["model", "version", "variant", "protocol"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.rollout_step_percent = Gauge(
            "ferry_rollout_step_percent", "Share of traffic (or of shadow copies) the candidate gets.",
            ["model"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.rollout_checks = Counter(
            "ferry_rollout_checks", "Rollout analysis checks by check and result (pass, fail).",
            ["model", "check", "result"], registry=r,
        )  # fmt: skip
        self.rollout_labels = Counter(
            "ferry_rollout_labels",
            "Feedback labels of a rollout by where they went: scored (this replica answered), "
            "handed_over (to the replica that did), claimed (handed over by another), lost.",
            ["model", "outcome"], registry=r,
        )  # fmt: skip
        self.shadow_disagreement = Gauge(
            "ferry_shadow_disagreement_ratio",
            "Share of compared rows the candidate and the primary predicted differently (window).",
            ["model"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.shadow_dropped = Counter(
            "ferry_shadow_dropped", "Copies dropped because the shadow queue was full.",
            ["model"], registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "ferry_batch_size",
            "Rows per model call.",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.confidence = Histogram(
            "ferry_prediction_confidence",
            "Per row: top class probability, or a clusterer's confidence (docs/flavors.md).",
            ["model"],
            buckets=_CONFIDENCE_BUCKETS, registry=r,
        )  # fmt: skip
        self.low_confidence_total = Counter(
            "ferry_low_confidence",
            "Rows whose confidence is below the threshold.",
            ["model"],
            registry=r,
        )
        self.age = Gauge(
            "ferry_model_age_seconds",
            "Age of the serving version.",
            ["model", "version"],
            registry=r,
        )
        self.swaps = Counter(
            "ferry_model_swaps", "Version changes by result.", ["model", "result"], registry=r
        )
        self.ready = Gauge(
            "ferry_model_ready", "1 while the model is loaded, verified and warmed up.",
            ["model"], registry=r, multiprocess_mode="livemin",
        )  # fmt: skip
        self.drift_share = Gauge(
            "ferry_drift_share", "Share of drifted features in the newest monitor check.",
            ["model"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.drift_detected = Gauge(
            "ferry_drift_detected", "1 when the newest monitor check found dataset drift.",
            ["model"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.log_rows_written = Counter(
            "ferry_prediction_log_rows_written", "Prediction rows written to the log.",
            ["model"], registry=r,
        )  # fmt: skip
        self.log_write_failures = Counter(
            "ferry_prediction_log_write_failures",
            "Failed writes of prediction rows or feedback labels (rows are retried).",
            ["model"], registry=r,
        )  # fmt: skip
        self.log_rows_dropped = Counter(
            "ferry_prediction_log_dropped_rows", "Prediction rows given up on, never written.",
            ["model"], registry=r,
        )  # fmt: skip

        self._serving: dict[str, tuple[str, str]] = {}
        """Each served reference's key → the (version, backend) it serves."""
        self._names: dict[str, str] = {}
        """Each served reference's key → its model's name."""
        self._answered: dict[tuple[str, ...], tuple[Counter, Histogram]] = {}
        """The request counter's and histogram's children by label values: looking a child up
        by its labels (validation, a lock) cost more than counting, twice on every request."""
        self._confidence: dict[str, Histogram] = {}

    def start(self, models: Iterable[str]) -> None:
        """Create every label set known at start, so counters read 0 from the first scrape
        (``rate()`` and ``increase()`` need a sample before the first event)."""
        for model in models:
            self.cache_hits.labels(model)
            self.cache_misses.labels(model)
            self.low_confidence_total.labels(model)
            self.ready.labels(model).set(0)
            for result in SWAP_RESULTS:
                self.swaps.labels(model, result)
            for counter in (self.log_rows_written, self.log_write_failures, self.log_rows_dropped):
                counter.labels(model)
            self.shadow_dropped.labels(model)
            self.rollout_step_percent.labels(model).set(0)

    def log_written(self, model: str, rows: int) -> None:
        """Rows the prediction log wrote."""
        self.log_rows_written.labels(model).inc(rows)

    def log_failed(self, model: str) -> None:
        """One write of the prediction log (or of feedback) failed."""
        self.log_write_failures.labels(model).inc()

    def log_dropped(self, model: str, rows: int) -> None:
        """Rows the prediction log gave up on."""
        self.log_rows_dropped.labels(model).inc(rows)

    def loaded(self, loaded: LoadedVersion, key: str | None = None) -> None:
        """Record one finished load of the reference ``key`` (the model's name by default); the
        replaced version's per-version series go (unless another reference serves it), so a
        dashboard counting pods per version sees a rollout end."""
        key = key or loaded.name
        previous = self._serving.pop(key, None)
        serving = (loaded.version, loaded.runner.backend)
        if previous is not None and previous != serving and previous not in self._of(loaded.name):
            self._forget(loaded.name, *previous)
        self._serving[key] = serving
        self._names[key] = loaded.name
        mean, p95 = loaded.warmup_summary()
        self.load_duration.labels(loaded.name, loaded.version, loaded.runner.backend).set(
            loaded.load_ms / 1000
        )
        self.warmup_mean.labels(loaded.name, loaded.version).set(mean / 1000)
        self.warmup_p95.labels(loaded.name, loaded.version).set(p95 / 1000)
        (self.cache_hits if loaded.cache_hit else self.cache_misses).labels(loaded.name).inc()

    def _of(self, name: str) -> list[tuple[str, str]]:
        """What the references of the model ``name`` serve."""
        return [served for key, served in self._serving.items() if self._names[key] == name]

    def _forget(self, model: str, version: str, backend: str) -> None:
        for gauge, labels in (
            (self.load_duration, (model, version, backend)), (self.warmup_mean, (model, version)),
            (self.warmup_p95, (model, version)), (self.age, (model, version)),
        ):  # fmt: skip
            with contextlib.suppress(KeyError):  # never set (a render had not run yet)
                gauge.remove(*labels)

    def answered(
        self, model: str, version: str, variant: str, protocol: str, status: str, seconds: float
    ) -> None:
        """Count one answered request and its latency."""
        key = (model, version, variant, protocol, status)
        children = self._answered.get(key)
        if children is None:
            children = self._answered[key] = (
                self.requests.labels(*key),
                self.duration.labels(model, version, variant, protocol),
            )
        children[0].inc()
        children[1].observe(seconds)

    def predicted(self, model: str, confidence: np.ndarray | None) -> None:
        """Record the confidence of answered rows."""
        if confidence is None:
            return
        histogram = self._confidence.get(model)
        if histogram is None:
            histogram = self._confidence[model] = self.confidence.labels(model)
        threshold, low = self.low_confidence, 0
        for value in confidence.tolist():  # Python floats: numpy's reductions cost more per row
            histogram.observe(value)
            low += value < threshold
        if low:
            self.low_confidence_total.labels(model).inc(low)

    def render(self, live: list[LiveModel], drift: Mapping[str, DriftFinding]) -> bytes:
        """The exposition text, with model ages, readiness and drift as of now."""
        now = datetime.now(UTC)
        for name, finding in drift.items():
            self.drift_share.labels(name).set(finding.share)
            self.drift_detected.labels(name).set(int(finding.detected))
        for model in live:
            self.ready.labels(model.key).set(int(model.ready))
            current = model.current
            serving = self._serving.get(model.key, ("", ""))[0]
            if current is not None and current.version == serving:  # not one being swapped out
                created = datetime.fromisoformat(current.metadata["created_at"])
                self.age.labels(current.name, current.version).set((now - created).total_seconds())
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            combined = CollectorRegistry()
            MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
            return generate_latest(combined)
        return generate_latest(self.registry)
