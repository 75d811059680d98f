"""The ``ferry`` script's entry point: ``serve`` goes straight to the lean server.

Loading the Typer application imports Typer, Rich and every command's dependencies (about half a
second); a serving process needs none of it, so ``ferry serve ...`` (with an optional leading
``--home DIR``) is dispatched to :mod:`ferry.serve` before any of that is imported. Every other
command, and ``ferry serve --help``, goes through the application in ``app.py``.
"""

from __future__ import annotations

import sys
from typing import Any

_HELP = {"--help", "-h"}


def main() -> None:
    """Entry point of the ``ferry`` script."""
    argv = sys.argv[1:]
    home, rest = _leading_home(argv)
    if rest[:1] == ["serve"] and not _HELP & set(rest):
        from ferry.serve import main as serve

        sys.exit(serve(rest[1:], home))
    from ferry.cli.app import app

    app()


def _leading_home(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--home DIR`` / ``--home=DIR`` before the command, and what follows it."""
    if argv[:1] == ["--home"] and len(argv) > 1:
        return argv[1], argv[2:]
    if argv and argv[0].startswith("--home="):
        return argv[0].removeprefix("--home="), argv[1:]
    return None, argv


def __getattr__(name: str) -> Any:
    """``from ferry.cli.main import app`` keeps working; the app loads when asked for."""
    if name == "app":
        from ferry.cli.app import app

        return app
    raise AttributeError(f"module 'ferry.cli.main' has no attribute {name!r}")
