"""The Live page's figures, read from the serving process's own Prometheus registry.

Counters only grow, so rates come from the difference between two samples; latency quantiles
are interpolated inside histogram buckets the way PromQL's ``histogram_quantile`` does, over
everything since the process started. With several uvicorn workers each process shows its own.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Sample = tuple[str, dict[str, str], float]
Key = tuple[str, str, str]
"""(model, version, variant): what the Live page's traffic table has a row for."""
HISTORY = 90


@dataclass(frozen=True)
class VersionFigures:
    """Traffic of one model version as one variant (``primary``, or ``candidate`` during a
    rollout): totals since start, rates since the previous sample."""

    model: str
    version: str
    variant: str
    requests: int
    errors: int
    rate: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class ModelFigures:
    """Per model: confidence histogram, low-confidence share, batch sizes (mean, histogram)."""

    model: str
    confidence: list[tuple[str, int]]
    low_confidence_rate: float | None
    batch_mean: float | None
    batches: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class LiveSnapshot:
    """One look at the process: versions, models, CPU, memory and the recent request rate."""

    at: str
    versions: list[VersionFigures]
    models: list[ModelFigures]
    cpu_percent: float | None
    memory_bytes: float | None
    rate_history: list[tuple[str, float]] = field(default_factory=list)
    error_history: list[tuple[str, float]] = field(default_factory=list)
    """Share of answers with status 400 or above between two looks (looks with no request left
    out), all versions."""
    latency_history: list[tuple[str, float]] = field(default_factory=list)
    """p99 latency in ms of the requests answered between two looks, all versions."""


class LiveSampler:
    """Turns successive reads of a metrics registry into rates and short histories of the
    request rate, the error share and the p99 latency between reads."""

    def __init__(
        self,
        collect: Callable[[], Iterable[Any]],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.collect = collect
        self.clock = clock
        self.wall = wall
        self._previous: tuple[float, dict[Key, tuple[float, float]], float] | None = None
        self._latency: dict[float, float] = {}  # duration buckets summed over every label
        self._history: deque[tuple[str, float]] = deque(maxlen=HISTORY)
        self._errors: deque[tuple[str, float]] = deque(maxlen=HISTORY)
        self._p99: deque[tuple[str, float]] = deque(maxlen=HISTORY)

    def sample(self) -> LiveSnapshot:
        """Read the registry now and compare with the previous read."""
        samples = [s for metric in self.collect() for s in _samples(metric)]
        now, at = self.clock(), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.wall()))
        totals = _request_totals(samples)
        cpu = _value(samples, "process_cpu_seconds_total")
        elapsed, before, cpu_before = self._since(now)
        versions = [
            _version(key, counts, before.get(key, (0.0, 0.0)), elapsed, samples)
            for key, counts in sorted(totals.items())
        ]
        cpu_percent = None
        if elapsed and cpu is not None and cpu_before is not None:
            cpu_percent = 100.0 * (cpu - cpu_before) / elapsed
        self._previous = (now, totals, cpu if cpu is not None else math.nan)
        latency = _merged(samples, "ferry_request_duration_seconds_bucket")
        latency_before, self._latency = self._latency, latency
        if elapsed:
            self._history.append((at, sum(v.rate for v in versions)))
            self._windows(at, (totals, before), (latency, latency_before))
        models = sorted(
            {model for model, _, _ in totals} | _labelled(samples, "ferry_batch_size_count")
        )
        return LiveSnapshot(
            at=at,
            versions=versions,
            models=[_model(model, samples) for model in models],
            cpu_percent=cpu_percent,
            memory_bytes=_value(samples, "process_resident_memory_bytes"),
            rate_history=list(self._history),
            error_history=list(self._errors),
            latency_history=list(self._p99),
        )

    def _windows(
        self,
        at: str,
        totals: tuple[dict[Key, tuple[float, float]], dict[Key, tuple[float, float]]],
        latency: tuple[dict[float, float], dict[float, float]],
    ) -> None:
        """Append the error share and p99 latency of the requests since the previous look
        (nothing when no request came in between), given (now, then) of each."""
        (now, then), (buckets, previous) = totals, latency
        served = sum(count for count, _ in now.values()) - sum(c for c, _ in then.values())
        failed = sum(errors for _, errors in now.values()) - sum(e for _, e in then.values())
        if served <= 0:
            return
        self._errors.append((at, failed / served))
        window = [(bound, count - previous.get(bound, 0.0)) for bound, count in buckets.items()]
        p99 = quantile(sorted(window), 0.99)
        if p99 is not None:
            self._p99.append((at, p99 * 1000))

    def _since(
        self, now: float
    ) -> tuple[float | None, dict[Key, tuple[float, float]], float | None]:
        if self._previous is None:
            return None, {}, None
        then, totals, cpu = self._previous
        elapsed = now - then
        return (elapsed if elapsed > 0 else None), totals, (None if math.isnan(cpu) else cpu)


def _samples(metric: Any) -> list[Sample]:
    return [(s.name, dict(s.labels), float(s.value)) for s in metric.samples]


def _value(samples: list[Sample], name: str) -> float | None:
    return next((value for n, _, value in samples if n == name), None)


def _labelled(samples: list[Sample], name: str) -> set[str]:
    return {labels["model"] for n, labels, _ in samples if n == name and "model" in labels}


def _request_totals(samples: list[Sample]) -> dict[Key, tuple[float, float]]:
    """(model, version, variant) -> (requests, error answers: status 400 and above)."""
    totals: dict[Key, tuple[float, float]] = {}
    for name, labels, value in samples:
        if name != "ferry_requests_total":
            continue
        key = (labels["model"], labels["version"], labels.get("variant", ""))
        requests, errors = totals.get(key, (0.0, 0.0))
        failed = value if int(labels.get("status", "200")) >= 400 else 0.0
        totals[key] = (requests + value, errors + failed)
    return totals


def _version(
    key: Key,
    counts: tuple[float, float],
    before: tuple[float, float],
    elapsed: float | None,
    samples: list[Sample],
) -> VersionFigures:
    model, version, variant = key
    buckets = _buckets(samples, "ferry_request_duration_seconds_bucket", model, version, variant)
    p50, p99 = quantile(buckets, 0.5), quantile(buckets, 0.99)
    return VersionFigures(
        model=model,
        version=version,
        variant=variant,
        requests=int(counts[0]),
        errors=int(counts[1]),
        rate=(counts[0] - before[0]) / elapsed if elapsed else 0.0,
        error_rate=(counts[1] / counts[0]) if counts[0] else 0.0,
        p50_ms=None if p50 is None else p50 * 1000,
        p99_ms=None if p99 is None else p99 * 1000,
    )


def _model(model: str, samples: list[Sample]) -> ModelFigures:
    confidence = _buckets(samples, "ferry_prediction_confidence_bucket", model)
    rows = confidence[-1][1] if confidence else 0.0
    low = _sum(samples, "ferry_low_confidence_total", model)
    batches = _sum(samples, "ferry_batch_size_count", model)
    batch_rows = _sum(samples, "ferry_batch_size_sum", model)
    return ModelFigures(
        model=model,
        confidence=_per_bucket(confidence),
        low_confidence_rate=(low / rows) if rows else None,
        batch_mean=(batch_rows / batches) if batches else None,
        batches=_per_bucket(_buckets(samples, "ferry_batch_size_bucket", model)),
    )


def _sum(samples: list[Sample], name: str, model: str) -> float:
    return sum(v for n, labels, v in samples if n == name and labels.get("model") == model)


def _buckets(
    samples: list[Sample],
    name: str,
    model: str,
    version: str | None = None,
    variant: str | None = None,
) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) pairs summed over other labels, in bound order."""
    merged: dict[float, float] = {}
    for n, labels, value in samples:
        if n != name or labels.get("model") != model:
            continue
        if version is not None and labels.get("version") != version:
            continue
        if variant is not None and labels.get("variant", "") != variant:
            continue
        bound = float(labels["le"])
        merged[bound] = merged.get(bound, 0.0) + value
    return sorted(merged.items())


def _merged(samples: list[Sample], name: str) -> dict[float, float]:
    """A histogram's cumulative buckets summed over every label: upper bound -> count."""
    merged: dict[float, float] = {}
    for n, labels, value in samples:
        if n == name:
            bound = float(labels["le"])
            merged[bound] = merged.get(bound, 0.0) + value
    return merged


def _per_bucket(cumulative: list[tuple[float, float]]) -> list[tuple[str, int]]:
    """Cumulative buckets as (range label, count in that range) for a bar chart."""
    bars, lower, seen = [], 0.0, 0.0
    for bound, count in cumulative:
        if math.isinf(bound):
            continue
        bars.append((f"{lower:g}-{bound:g}", int(count - seen)))
        lower, seen = bound, count
    return bars


def quantile(cumulative: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile by linear interpolation inside the bucket that holds it (None if empty)."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is the best answer
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower
