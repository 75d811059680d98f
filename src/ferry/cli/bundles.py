"""``ferry bake``: a self-contained bundle of one version, for images that carry their model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import JSON_OPTION, print_json, reports_errors

if TYPE_CHECKING:
    from ferry.serving.bundle import Bundle


@reports_errors
def bake(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME@ALIAS, NAME:VERSION or NAME.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="DIR", help="A new or empty folder (or an older bundle)."
        ),
    ],
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a version, verified and compiled, as a bundle `ferry serve --bundle` serves alone.

    The bundle holds the version's artifacts, its compiled ONNX graph, its metadata and the
    sha256 of every file; the server started from it needs no catalog and no registry.
    """
    from ferry.config import ServingSettings
    from ferry.serving.bundle import bake as bake_bundle

    settings = ServingSettings.from_env((ref,))
    with open_registry(ctx) as registry:
        baked = bake_bundle(registry, ref, output, settings)
    if as_json:
        print_json(
            {"folder": str(baked.folder), "reference": baked.reference, "backend": baked.backend,
             "files": baked.files, "note": baked.note}
        )  # fmt: skip
        return
    note = f" ({baked.note})" if baked.note else ""
    typer.echo(
        f"baked {baked.reference} into {baked.folder}: {baked.files} files, "
        f"{baked.backend} backend{note}"
    )


def open_bundle(ctx: typer.Context, folder: Path) -> Bundle:
    """The bundle at ``folder``; the prediction log goes where FERRY_HOME (or --home) says."""
    from ferry.config import RegistrySettings
    from ferry.serving.bundle import Bundle

    home = (ctx.find_root().obj or {}).get("home")
    return Bundle(folder, RegistrySettings.resolve(home))
