"""``ferry retain``: both forms, as a user types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from ferry.cli.main import app
from ferry.logstore.store import LogStore


@pytest.fixture
def ferry(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    for variable in ("FERRY_LOG_DIR", "FERRY_LOG_RETENTION_DAYS", "FERRY_LOG_MAX_BYTES"):
        monkeypatch.delenv(variable, raising=False)

    def run(*args: str, code: int = 0):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def test_retain_logs_by_days_in_the_registry_home(ferry, tmp_path, log_file):
    store = LogStore(tmp_path / "home")
    old = log_file(store, _day(40))
    feedback = log_file(store, _day(40), kind="feedback")
    recent = log_file(store, _day(1))
    out = json.loads(ferry("retain", "--logs", "--days", "30", "--json").stdout)
    assert out["removed_files"] == 2 and out["kept_files"] == 1
    assert sorted(out["removed"]) == sorted([store.relative(old), store.relative(feedback)])
    assert out["location"] == str(tmp_path / "home")
    assert LogStore(tmp_path / "home").files()[0].path == recent
    said = ferry("retain", "--logs", "--days", "30").stdout
    assert said.startswith("removed 0 log files (0 bytes); kept 1")


def test_retain_logs_at_ferry_log_dir_with_limits_from_the_environment(
    ferry, tmp_path, log_file, monkeypatch
):
    logs = tmp_path / "logs"
    monkeypatch.setenv("FERRY_LOG_DIR", str(logs))
    monkeypatch.setenv("FERRY_LOG_MAX_BYTES", "0")
    log_file(LogStore(logs), _day(0))
    out = json.loads(ferry("retain", "--logs", "--json").stdout)
    assert out["removed_files"] == 1 and out["kept_bytes"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "name a model (NAME --keep N) or pass --logs"),
        (["--logs"], "--logs needs a limit"),
        (["churn"], "--keep N"),
        (["--logs", "--days", "-1"], "days must be at least 0"),
    ],
)
def test_retain_says_what_is_missing(ferry, args, message):
    result = ferry("retain", *args, code=1)
    assert message in result.stderr and "Traceback" not in result.stderr
