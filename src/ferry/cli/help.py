"""How ``--help`` reads: plain text, and each command's summary in full.

Help is rendered as plain text (``rich_markup_mode=None``), so a bracket in a help text is
printed as written instead of being taken for Rich markup and dropped. Click cuts command
summaries to fit one line ("... a registered..."); :class:`FerryGroup` wraps them instead.
"""

from __future__ import annotations

import sys
from typing import Any

from typer.core import TyperGroup


class FerryGroup(TyperGroup):
    """A command group whose command list shows every summary whole, wrapped to the terminal."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # Any: typer releases differ on whether these are click's classes or its own copies.
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=sys.maxsize)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
