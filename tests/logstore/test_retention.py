"""Retention of the prediction log: by age, by size, and never beyond ferry's own files."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ferry.errors import InvalidInput
from ferry.logstore.retention import LogRetention
from ferry.logstore.store import LogStore

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _names(store: LogStore) -> list[str]:
    return [store.relative(file.path) for file in store.files()]


def test_days_remove_whole_days_that_ended_before_the_limit(tmp_path, log_file):
    store = LogStore(tmp_path)
    for day in ("2026-03-01", "2026-03-08", "2026-03-09", "2026-03-10"):
        log_file(store, day)
    log_file(store, "2026-03-01", kind="feedback")
    result = LogRetention(days=2).apply(store, NOW)
    assert len(result.removed) == 2 and result.kept_files == 3
    assert all("day=2026-03-01" in file.path for file in result.removed)
    assert {name.split("/")[-2] for name in _names(store)} == {
        "day=2026-03-08", "day=2026-03-09", "day=2026-03-10",
    }  # fmt: skip
    # the emptied day and model folders go too; the kind folders stay
    assert not (tmp_path / "feedback" / "model=m").exists() and (tmp_path / "feedback").is_dir()


def test_max_bytes_removes_the_oldest_files_first(tmp_path, log_file):
    store = LogStore(tmp_path)
    paths = [log_file(store, f"2026-03-0{day}") for day in range(1, 6)]
    sizes = [Path(path).stat().st_size for path in paths]
    limit = sizes[3] + sizes[4] + 1
    result = LogRetention(max_bytes=limit).apply(store, NOW)
    assert [file.path for file in result.removed] == paths[:3]
    assert result.removed_bytes == sum(sizes[:3]) and result.kept_bytes == limit - 1
    assert [Path(path).exists() for path in paths] == [False, False, False, True, True]


def test_files_ferry_did_not_write_are_left_alone(tmp_path, log_file):
    store = LogStore(tmp_path)
    log_file(store, "2020-01-01")
    foreign = [
        tmp_path / "predictions" / "README.txt",
        tmp_path / "predictions" / "model=m" / "version=1.0.0" / "day=2020-01-01" / "mine.parquet",
        tmp_path / "predictions" / "model=m" / "old.parquet",
        tmp_path / "models" / "m" / "v1.0.0" / "part-x.parquet",
    ]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not ferry's")
    result = LogRetention(days=0, max_bytes=0).apply(store, NOW)
    assert len(result.removed) == 1
    assert all(path.read_text() == "not ferry's" for path in foreign)


def test_no_limit_and_bad_limits(tmp_path, log_file):
    store = LogStore(tmp_path)
    log_file(store, "2020-01-01")
    assert not LogRetention().active
    assert LogRetention().apply(store, NOW).removed == ()
    with pytest.raises(InvalidInput, match="days"):
        LogRetention(days=-1)
    with pytest.raises(InvalidInput, match="max bytes"):
        LogRetention(max_bytes=-5)


def test_half_written_files_of_a_dead_writer_go_after_an_hour(tmp_path, log_file):
    store = LogStore(tmp_path)
    folder = Path(log_file(store, "2026-03-10")).parent
    dead = folder / ".part-gone-1.parquet.tmp"
    writing = folder / ".part-live-2.parquet.tmp"
    for path in (dead, writing):
        path.write_bytes(b"PAR1 half")
    two_hours_ago = (NOW - timedelta(hours=2)).timestamp()
    os.utime(dead, (two_hours_ago, two_hours_ago))
    os.utime(writing, (NOW.timestamp(), NOW.timestamp()))
    result = LogRetention(days=30).apply(store, NOW)
    assert [file.path for file in result.removed] == [str(dead)]
    assert writing.exists() and result.kept_files == 1
