"""scripts/demo only clears a registry folder it made itself (marked with .ferry-demo-home)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
MARKER = ".ferry-demo-home"


def run(
    *command: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_the_demo_refuses_a_ferry_home_holding_the_users_files(tmp_path: Path) -> None:
    home = tmp_path / "my-registry"
    home.mkdir()
    (home / "ferry.db").write_text("the user's catalog")
    (home / "models").mkdir()
    (home / "models" / "churn.skops").write_text("the user's model")

    done = run(SCRIPTS / "demo", env={"FERRY_HOME": str(home)})

    assert done.returncode == 2
    assert f"refusing FERRY_HOME={home}" in done.stderr
    assert MARKER in done.stderr
    assert (home / "ferry.db").read_text() == "the user's catalog"
    assert (home / "models" / "churn.skops").read_text() == "the user's model"
    assert not (home / MARKER).exists()


def test_a_relative_ferry_home_means_the_callers_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")

    done = subprocess.run(
        [str(SCRIPTS / "demo")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "FERRY_HOME": "mine"},
        timeout=60,
    )

    assert done.returncode == 2
    assert f"FERRY_HOME={tmp_path / 'mine'}" in done.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "empty"])
def test_a_new_or_empty_folder_becomes_the_demos_and_is_marked(
    tmp_path: Path, exists: bool
) -> None:
    home = tmp_path / "demo-home"
    if exists:
        home.mkdir()

    done = run(SCRIPTS / "demo-home", home)

    assert done.returncode == 0, done.stderr
    assert [path.name for path in home.iterdir()] == [MARKER]


def test_a_folder_the_demo_marked_is_cleared_for_the_next_run(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    assert run(SCRIPTS / "demo-home", home).returncode == 0
    (home / "models" / "tumor").mkdir(parents=True)
    (home / "ferry.db").write_text("last run's catalog")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the demo's")
    (home / "link").symlink_to(outside)

    done = run(SCRIPTS / "demo-home", home)

    assert done.returncode == 0, done.stderr
    assert [path.name for path in home.iterdir()] == [MARKER]
    assert outside.read_text() == "not the demo's"


def test_a_ferry_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "registry"
    home.write_text("a file")

    done = run(SCRIPTS / "demo-home", home)

    assert done.returncode == 2
    assert "is not a folder" in done.stderr
    assert home.read_text() == "a file"
