"""``ferry models``: list models, show a version, list a model's versions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ferry.cli.help import FerryGroup
from ferry.cli.output import (
    JSON_OPTION,
    metrics_text,
    print_fields,
    print_json,
    print_table,
    reports_errors,
    when,
)
from ferry.registry.registry import ModelVersion, Registry

models_app = typer.Typer(
    help="Look at registered models.", no_args_is_help=True, cls=FerryGroup, rich_markup_mode=None
)


@contextmanager
def open_registry(ctx: typer.Context) -> Iterator[Registry]:
    """The registry the global options (or FERRY_* variables) name, closed afterwards."""
    home = (ctx.find_root().obj or {}).get("home")
    registry = Registry(home=home)
    try:
        yield registry
    finally:
        registry.close()


def version_row(version: ModelVersion) -> dict[str, Any]:
    """The fields people look at first."""
    meta = version.metadata
    return {
        "version": version.version,
        "created_at": version.created_at,
        "aliases": ", ".join(version.aliases),
        "framework": f"{meta['framework']} {meta['framework_version']}",
        "serialization": meta.get("serialization"),
        "inputs": meta["input_shape"],
        "performance": meta["performance"],
        "parent_version": meta["parent_version"],
        "training_dataset": meta["training_dataset"],
        "description": meta["description"],
        "tags": meta["tags"],
        "location": version.location,
    }


@models_app.command("list")
@reports_errors
def list_models(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every model, its latest version and its aliases."""
    with open_registry(ctx) as registry:
        models = registry.list_models()
    if as_json:
        print_json(models)
        return
    rows = [
        (m["name"], m["latest"], m["versions"], _aliases(m["aliases"]), when(m["updated_at"]))
        for m in models
    ]
    print_table("models", ("name", "latest", "versions", "aliases", "updated"), rows)


@models_app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME, NAME:VERSION or NAME@ALIAS.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """One version with its metadata."""
    with open_registry(ctx) as registry:
        version = registry.resolve(ref)
    if as_json:
        print_json(version.to_dict())
    else:
        print_fields(version.reference, version_row(version))


@models_app.command("versions")
@reports_errors
def versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Every version of one model, oldest first."""
    with open_registry(ctx) as registry:
        found = registry.list_versions(name)
    if as_json:
        print_json([version.to_dict() for version in found])
        return
    rows = [
        (
            v.version,
            when(v.created_at),
            ", ".join(v.aliases),
            v.metadata["parent_version"],
            metrics_text(v.metadata["performance"]),
        )
        for v in found
    ]
    print_table(
        f"versions of {name}", ("version", "created", "aliases", "parent", "performance"), rows
    )


def _aliases(aliases: dict[str, str]) -> str:
    return ", ".join(f"{alias}→{version}" for alias, version in sorted(aliases.items()))
