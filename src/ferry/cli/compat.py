"""``ferry compat``: which libraries each model version needs, and whether this image has them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import JSON_OPTION, print_json, print_table, reports_errors
from ferry.errors import CompatibilityError
from ferry.registry.compat import Compatibility, backend_of, check_mode, compare

if TYPE_CHECKING:
    from ferry.registry.registry import Registry

COLUMNS = ("model", "backend", "library", "recorded", "installed", "verdict")


@reports_errors
def compat(
    ctx: typer.Context,
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF...", help="Versions to check: NAME, NAME:VERSION, NAME@ALIAS."),
    ],
    as_json: bool = JSON_OPTION,
) -> None:
    """Recorded vs installed library versions per model version; exit 1 when one would be
    refused (FERRY_COMPAT=strict)."""
    with open_registry(ctx) as registry:
        reports = [compatibility(registry, ref) for ref in refs]
    rows = [row for report in reports for row in report.rows()]
    if as_json:
        print_json(rows)
    else:
        print_table("library compatibility", COLUMNS, ([r[c] for c in COLUMNS] for r in rows))
        for report in reports:
            message = report.message()
            typer.echo(f"{report.reference}: {message or 'compatible'}")
    if not all(report.compatible for report in reports):
        raise typer.Exit(1)


def compatibility(registry: Registry, ref: str, mode: str = "strict") -> Compatibility:
    """The comparison for the backend a server without compiled cache would load ``ref`` with."""
    version = registry.resolve(ref)
    metadata: dict[str, Any] = version.metadata
    graph = None
    if backend_of(metadata) == "onnx":  # its opsets are read from the hash-verified graph
        graph = registry.read_artifact(version.reference, metadata["loader"]["file"])
    return compare(version.reference, metadata, graph=graph, mode=mode)


def checked_for_loading(registry: Registry, ref: str) -> None:
    """Before a command loads ``ref`` natively: refuse (``FERRY_COMPAT=strict``, the default)
    or warn on stderr (``warn``) when its libraries differ from the installed ones."""
    mode = check_mode(os.environ.get("FERRY_COMPAT", "strict"))
    message = compatibility(registry, ref, mode).message()
    if message is not None and mode == "strict":
        raise CompatibilityError(message)
    if message is not None:
        typer.echo(f"warning: {message}", err=True)
