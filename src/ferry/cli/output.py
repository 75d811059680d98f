"""How commands speak: JSON for scripts, Rich tables for people, one line for errors."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ferry.errors import FerryError

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")
TRUST_OPTION = typer.Option(
    metavar="TYPE",
    help="Trust this type in a .skops file (repeatable); otherwise only the types "
    "skops trusts by default load.",
)


def exits_on_error(code: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: any error becomes one line on stderr and exit ``code``.

    ``FERRY_DEBUG=1`` keeps tracebacks for unexpected errors.
    """

    def decorate(command: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(command)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return command(*args, **kwargs)
            except (typer.Exit, typer.Abort):
                raise
            except FerryError as error:
                _fail(f"error: {error}", code)
            except Exception as error:
                if os.environ.get("FERRY_DEBUG"):
                    raise
                _fail(f"error: {type(error).__name__}: {error}", code)

        return wrapper

    return decorate


reports_errors = exits_on_error(1)
"""Every command's error handling: one line on stderr, exit 1, never a traceback."""


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(message.replace("\n", " ") + "\n")
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    """Indented JSON on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Rich table; empty cells for None."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def print_fields(title: str, fields: dict[str, Any]) -> None:
    """A two-column table of names and values."""
    print_table(title, ("field", "value"), ((key, _short(value)) for key, value in fields.items()))


def when(iso: str) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC) for tables."""
    return iso[:19].replace("T", " ")


def metrics_text(metrics: dict[str, float]) -> str:
    """``accuracy=0.958 f1=0.967`` for tables."""
    return " ".join(f"{name}={value:.4g}" for name, value in sorted(metrics.items()))


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
        return text if len(text) <= 120 else text[:117] + "..."
    return "" if value is None else str(value)
