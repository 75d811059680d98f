"""Every command's ``--help`` renders whole: no text eaten as markup, no type placeholders."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ferry.cli.main import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` with the words that reach it, groups included."""
    found = [(path, group)]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_command_is_listed() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"register", "drift", "predict", "schedule", "serve", "models show"} <= paths
    assert len(paths) > 15


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "ferry" for path, _ in COMMANDS]
)
def test_help_renders_every_text_whole(path: tuple[str, ...], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    shown = result.output
    assert "\x1b[" not in shown  # plain text, no terminal colour codes
    options = shown.split("Options:")[-1]
    assert "<" not in options, "give every option that takes a value a metavar (FILE, N, ...)"
    assert "default:  " not in shown
    flat = _flat(shown)
    paragraphs = inspect.cleandoc(command.help or "").split("\n\n")
    for paragraph in paragraphs:
        assert _flat(paragraph) in flat
    for parameter in command.params:
        if getattr(parameter, "help", None):
            assert _flat(parameter.help) in flat, parameter.name


def test_command_summaries_are_not_cut() -> None:
    output = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    shown = _flat(output.split("Commands:")[1])
    assert (
        "drift Compare current data with a reference file or a registered version's drift profile."
        in shown
    )
    assert "..." not in shown


def test_options_that_take_values_name_them() -> None:
    shown = CliRunner().invoke(app, ["predict", "--help"], env={"COLUMNS": "80"}).output
    assert "--keep COLUMN" in shown and "-i, --input FILE" in shown
    shown = CliRunner().invoke(app, ["register", "--help"], env={"COLUMNS": "80"}).output
    assert "--trust TYPE" in shown and "--metric NAME=VALUE" in shown
