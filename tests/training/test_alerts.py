"""Alerts to the log and to a real webhook receiver on 127.0.0.1: retries, timeouts, giving up."""

from __future__ import annotations

import logging
import socket

import pytest

from ferry.errors import InvalidInput
from ferry.training.alerts import DRIFT_DETECTED, Alert, Alerter

ALERT = Alert(DRIFT_DETECTED, "churn", "3 of 10 features drifted", "2026-03-01T00:00:00+00:00",
              {"drift_share": 0.3})  # fmt: skip


def test_a_webhook_gets_slack_compatible_json_and_the_log_gets_a_line(webhook, caplog):
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="ferry.alerts"):
        assert Alerter(webhook.url, sleep=waits.append).send(ALERT) is True
    assert webhook.bodies == [
        {
            "text": "[ferry] churn: 3 of 10 features drifted",
            "kind": "drift_detected",
            "model": "churn",
            "at": "2026-03-01T00:00:00+00:00",
            "details": {"drift_share": 0.3},
        }
    ]
    assert waits == []
    assert "drift_detected" in caplog.text and "churn" in caplog.text


def test_without_a_webhook_alerts_only_go_to_the_log(caplog):
    with caplog.at_level(logging.WARNING, logger="ferry.alerts"):
        assert Alerter("").send(ALERT) is True
    assert "3 of 10 features drifted" in caplog.text


def test_server_errors_are_retried_with_backoff(webhook):
    webhook.statuses = [500, 503, 429]
    waits: list[float] = []
    assert Alerter(webhook.url, retries=3, backoff=0.5, sleep=waits.append).send(ALERT) is True
    assert len(webhook.bodies) == 4 and waits == [0.5, 1.0, 2.0]


def test_client_errors_are_not_retried_and_never_raise(webhook, caplog):
    webhook.statuses = [404]
    waits: list[float] = []
    with caplog.at_level(logging.ERROR, logger="ferry.alerts"):
        assert Alerter(webhook.url, sleep=waits.append).send(ALERT) is False
    assert len(webhook.bodies) == 1 and waits == []
    assert "HTTP 404" in caplog.text


def test_giving_up_after_the_retries(webhook):
    webhook.statuses = [500] * 5
    waits: list[float] = []
    assert Alerter(webhook.url, retries=2, sleep=waits.append).send(ALERT) is False
    assert len(webhook.bodies) == 3 and len(waits) == 2


def test_a_closed_port_is_a_failed_delivery_not_a_crash(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    with caplog.at_level(logging.ERROR, logger="ferry.alerts"):
        sent = Alerter(f"http://127.0.0.1:{port}/", retries=1, sleep=waits.append).send(ALERT)
    assert sent is False and waits == [0.5]
    assert "ConnectError" in caplog.text


def test_a_receiver_that_hangs_times_out(webhook, caplog):
    webhook.hold.clear()
    with caplog.at_level(logging.ERROR, logger="ferry.alerts"):
        sent = Alerter(webhook.url, timeout=0.2, retries=0).send(ALERT)
    webhook.hold.set()
    assert sent is False and "ReadTimeout" in caplog.text


def test_settings_are_checked_up_front():
    with pytest.raises(InvalidInput, match="timeout"):
        Alerter("http://127.0.0.1/", timeout=0)
