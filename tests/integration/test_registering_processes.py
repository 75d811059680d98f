"""Many processes registering at once, and processes killed mid-registration.

Both run against SQLite and PostgreSQL. After them every listed version must load and
``verify`` must be clean: nothing lost, nothing half-visible.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ferry import Registry

WORKER = Path(__file__).with_name("register_worker.py")
pytestmark = pytest.mark.slow


def _start(home: Path, catalog: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(home), catalog, "churn", str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _go(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def _assert_whole(home: Path, catalog: str, expected: set[str]) -> list[str]:
    with Registry(home=home, catalog=catalog) as registry:
        report = registry.verify()
        assert report.ok, report.problems
        listed = [version.version for version in registry.list_versions("churn")]
        assert expected <= set(listed)
        for version in listed:
            assert (
                len(registry.load(f"churn:{version}").predict(registry.input_example("churn")))
                == 10
            )
        assert registry.verify().cleaned == []
    return listed


def test_eight_processes_registering_at_once_get_distinct_versions(tmp_path, catalog_url):
    home = tmp_path / "home"
    workers = [_start(home, catalog_url, 5) for _ in range(8)]
    _go(workers)
    printed = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
        printed += out.split()
    assert len(printed) == len(set(printed)) == 40
    listed = _assert_whole(home, catalog_url, set(printed))
    assert sorted(listed) == sorted(f"1.{minor}.0" for minor in range(40))


def test_processes_killed_at_random_moments_leave_no_half_version(tmp_path, catalog_url):
    home = tmp_path / "home"
    chooser = random.Random(20261123)
    printed: set[str] = set()
    for _round in range(2):
        workers = [_start(home, catalog_url, 10_000) for _ in range(4)]
        _go(workers)
        for index, victim in enumerate(workers):
            # Kill each worker when another has just finished a registration: the victim is
            # then somewhere inside its own, at a point that differs from round to round.
            witness = workers[(index + 1) % len(workers)]
            assert witness.stdout is not None
            for _ in range(chooser.randint(1, 6)):
                if witness.poll() is None:
                    printed.add(witness.stdout.readline().strip())
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=60)
        for worker in workers:
            out, _ = worker.communicate(timeout=60)
            printed.update(out.split())
    printed.discard("")
    assert len(printed) >= 8
    _assert_whole(home, catalog_url, printed)
