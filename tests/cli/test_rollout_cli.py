"""``ferry rollout``: start, status, promote, abort and history, typed as a user would."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.registry.rollouts import Rollouts


@pytest.fixture
def ferry(tmp_path, monkeypatch, pipeline, cancer):
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "churn", input_example=cancer[0].head(5))
        registry.register(pipeline, "churn", input_example=cancer[0].head(5))
        registry.set_alias("churn", "production", "1.0.0")
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def test_start_status_history_and_promote(ferry):
    started = json.loads(ferry("rollout", "start", "churn@production", "--candidate", "1.1.0",
                               "--steps", "10,100", "--interval", "30s", "--max-latency-ratio",
                               "2", "--json").stdout)  # fmt: skip
    assert (started["percent"], started["interval_seconds"], started["state"]) == (
        10,
        30,
        "running",
    )
    assert started["bounds"]["max_latency_ratio"] == 2

    status = json.loads(ferry("rollout", "status", "churn", "--json").stdout)
    assert status["candidate"] == "1.1.0" and status["mode"] == "canary"
    assert "1.1.0" in ferry("rollout", "status", "churn").stdout

    promoted = json.loads(ferry("rollout", "promote", "churn", "--json").stdout)
    assert promoted["state"] == "promoted"
    assert (
        json.loads(ferry("models", "show", "churn@production", "--json").stdout)["version"]
        == "1.1.0"
    )
    events = json.loads(ferry("rollout", "history", "churn", "--json").stdout)
    assert [event["kind"] for event in events] == ["started", "promoted"]
    assert "promoted" in ferry("rollout", "history", "churn").stdout


def test_abort_and_errors_are_one_line(ferry):
    ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", "--mode", "shadow")
    again = ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", code=1)
    assert "already has rollout" in again.stderr and "Traceback" not in again.stderr
    assert "aborted" in ferry("rollout", "abort", "churn").stdout
    bad = ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", "--mode", "x",
                code=1)  # fmt: skip
    assert "mode must be one of canary, shadow, ab" in bad.stderr
    assert "no rollout" in ferry("rollout", "status", "other", code=1).stderr


def test_an_ab_rollout_takes_its_test_settings(ferry):
    started = json.loads(ferry("rollout", "start", "churn@production", "--candidate", "1.1.0",
                               "--mode", "ab", "--min-samples", "50", "--alpha", "0.01",
                               "--max-samples", "500", "--min-accuracy", "0.8",
                               "--json").stdout)  # fmt: skip
    assert (started["mode"], started["steps"]) == ("ab", [50])
    bounds = started["bounds"]
    assert (bounds["min_samples"], bounds["alpha"], bounds["max_samples"]) == (50, 0.01, 500)
    assert (bounds["min_accuracy"], bounds["max_mean_error"]) == (0.8, None)
    status = json.loads(ferry("rollout", "status", "churn", "--json").stdout)
    assert "significance" in status and status["significance"] is None
    ferry("rollout", "abort", "churn")
    bad = ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", "--mode", "ab",
                "--min-samples", "500", "--max-samples", "100", code=1)  # fmt: skip
    assert "max_samples (100) must be at least min_samples (500)" in bad.stderr
    distance = json.loads(ferry("rollout", "start", "churn@production", "--candidate", "1.1.0",
                                "--max-distance", "0.2", "--distance", "js", "--json").stdout)  # fmt: skip
    assert (distance["bounds"]["max_distance"], distance["bounds"]["distance"]) == (0.2, "js")
    ferry("rollout", "abort", "churn")
    kl = ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", "--distance", "kl",
               code=1)  # fmt: skip
    assert "distance must be one of psi, js" in kl.stderr
    assert (
        "alpha must be a level in (0, 1)"
        in ferry(
            "rollout", "start", "churn@production", "--candidate", "1.1.0", "--alpha", "1.5", code=1
        ).stderr
    )


def test_status_shows_the_newest_significance_test(ferry, tmp_path, monkeypatch):
    import numpy as np

    from ferry.registry.catalog import utcnow
    from ferry.serving.abtest import compare
    from ferry.serving.outcomes import Moments

    ferry("rollout", "start", "churn@production", "--candidate", "1.1.0", "--mode", "ab")
    candidate, primary = Moments(), Moments()
    candidate.observe(np.array([1.0] * 95 + [0.0] * 5))
    primary.observe(np.array([1.0] * 80 + [0.0] * 20))
    test = compare("accuracy", candidate, primary, 0.05).to_dict()
    with Registry(home=tmp_path / "home") as registry:  # what the analysis leader records
        rollouts = Rollouts(registry)
        rollouts.judged(rollouts.get("churn"), 0, 0, "checked", {"significance": test}, utcnow())
    status = json.loads(ferry("rollout", "status", "churn", "--json").stdout)
    assert status["significance"] == test
    monkeypatch.setenv("COLUMNS", "400")  # one line per field
    listed = ferry("rollout", "status", "churn").stdout
    assert "better: accuracy 0.95 vs 0.8, effect +0.15, 95% CI [" in listed
    assert "labels 100 candidate / 100 primary" in listed
