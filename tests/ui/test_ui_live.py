"""The Live page's figures from a real serving metrics registry: rates between samples, error
share, latency quantiles from histogram buckets (by version and variant), confidence bars and low-confidence share."""

from __future__ import annotations

import numpy as np
import pytest

from ferry.serving.metrics import ServingMetrics
from ferry.ui.live import LiveSampler, quantile


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rates_errors_and_latency_come_from_successive_samples():
    metrics, clock = ServingMetrics(low_confidence=0.6), Clock()
    sampler = LiveSampler(metrics.registry.collect, clock=clock, wall=lambda: 0.0)
    metrics.requests.labels("churn", "1.0.0", "primary", "plain", "200").inc(8)
    metrics.requests.labels("churn", "1.0.0", "primary", "v2", "422").inc(2)
    for seconds in (0.002, 0.002, 0.004, 0.2):
        metrics.duration.labels("churn", "1.0.0", "primary", "plain").observe(seconds)
    first = sampler.sample()
    (figures,) = first.versions
    assert (figures.requests, figures.errors, figures.rate) == (10, 2, 0.0)  # no interval yet
    assert figures.variant == "primary"
    assert figures.error_rate == pytest.approx(0.2)
    assert 1.0 < figures.p50_ms <= 2.5 and 100 < figures.p99_ms <= 250
    assert first.memory_bytes is None or first.memory_bytes > 0
    metrics.requests.labels("churn", "1.0.0", "primary", "plain", "200").inc(20)
    clock.now += 4.0
    second = sampler.sample()
    assert second.versions[0].rate == pytest.approx(5.0)
    assert [rate for _, rate in second.rate_history] == [pytest.approx(5.0)]


def test_a_rollouts_variants_have_their_own_traffic_and_latency():
    """During a rollout the primary and the candidate each get a row (issue 11: by variant)."""
    metrics = ServingMetrics(low_confidence=0.6)
    metrics.requests.labels("churn", "1.0.0", "primary", "plain", "200").inc(9)
    metrics.requests.labels("churn", "1.1.0", "candidate", "plain", "500").inc(1)
    metrics.duration.labels("churn", "1.0.0", "primary", "plain").observe(0.002)
    metrics.duration.labels("churn", "1.1.0", "candidate", "plain").observe(0.2)
    primary, candidate = LiveSampler(metrics.registry.collect).sample().versions
    assert (primary.version, primary.variant, primary.requests) == ("1.0.0", "primary", 9)
    assert (candidate.variant, candidate.errors, candidate.error_rate) == ("candidate", 1, 1.0)
    assert primary.p99_ms is not None and primary.p99_ms < 5 < 100 < candidate.p99_ms


def test_error_share_and_p99_between_looks_make_their_own_history():
    """The Live page charts errors and p99 latency over time: each point covers only the
    requests answered since the previous look, not everything since start."""
    metrics, clock = ServingMetrics(low_confidence=0.6), Clock()
    sampler = LiveSampler(metrics.registry.collect, clock=clock, wall=lambda: 0.0)
    ok = metrics.requests.labels("churn", "1.0.0", "primary", "plain", "200")
    ok.inc(99)
    for _ in range(99):
        metrics.duration.labels("churn", "1.0.0", "primary", "plain").observe(0.9)  # slow start
    first = sampler.sample()
    assert (first.error_history, first.latency_history) == ([], [])  # nothing to compare yet
    clock.now += 2.0
    ok.inc(3)
    metrics.requests.labels("churn", "1.0.0", "primary", "plain", "500").inc(1)
    for _ in range(4):
        metrics.duration.labels("churn", "1.0.0", "primary", "plain").observe(0.003)
    second = sampler.sample()
    assert [share for _, share in second.error_history] == [pytest.approx(0.25)]
    ((_, p99),) = second.latency_history
    assert 2.5 < p99 <= 5.0  # the four fast answers only, not the slow ones before
    clock.now += 2.0
    third = sampler.sample()  # no request since: no point, the earlier ones stay
    assert (len(third.error_history), len(third.latency_history)) == (1, 1)


def test_confidence_bars_and_low_confidence_share():
    metrics = ServingMetrics(low_confidence=0.6)
    metrics.predicted("churn", np.array([0.55, 0.65, 0.97, 0.99, 0.999]))
    metrics.batch_size.labels("churn").observe(4)
    metrics.batch_size.labels("churn").observe(2)
    (model,) = LiveSampler(metrics.registry.collect).sample().models
    assert model.low_confidence_rate == pytest.approx(0.2)
    assert model.batch_mean == pytest.approx(3.0)
    assert dict(model.batches)["1-2"] == 1 and dict(model.batches)["2-4"] == 1
    assert sum(count for _, count in model.confidence) == 5
    assert dict(model.confidence)["0-0.5"] == 0 and dict(model.confidence)["0.5-0.6"] == 1


def test_quantile_interpolates_inside_the_bucket():
    buckets = [(0.1, 50.0), (0.2, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == pytest.approx(0.1)
    assert quantile(buckets, 0.75) == pytest.approx(0.15)
    assert quantile([(0.1, 0.0), (float("inf"), 0.0)], 0.5) is None
    assert quantile([(0.1, 1.0), (float("inf"), 10.0)], 0.99) == pytest.approx(0.1)
