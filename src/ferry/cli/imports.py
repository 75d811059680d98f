"""``ferry import``: bring models in from other tools (MLflow), with their lineage."""

from __future__ import annotations

from typing import Annotated

import typer

from ferry.cli.help import FerryGroup
from ferry.cli.models import open_registry, version_row
from ferry.cli.output import JSON_OPTION, TRUST_OPTION, print_fields, print_json, reports_errors

import_app = typer.Typer(
    help="Bring models in from other tools.",
    no_args_is_help=True,
    cls=FerryGroup,
    rich_markup_mode=None,
)


@import_app.command("mlflow")
@reports_errors
def import_mlflow(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="An MLmodel folder, models:/NAME/VERSION, models:/NAME@ALIAS or runs:/ID/PATH.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", "-n", metavar="NAME", help="Model name (default: the MLflow model's)."
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            envvar="MLFLOW_TRACKING_URI",
            metavar="URI",
            help="The MLflow tracking store models:/ and runs:/ sources are read from.",
        ),
    ] = None,
    aliases: Annotated[
        bool, typer.Option("--aliases", help="Carry the MLflow version's aliases over.")
    ] = False,
    trust_pickle: Annotated[
        bool,
        typer.Option(help="Load a pickled model you made yourself; ferry saves it again as skops."),
    ] = False,
    trust: Annotated[list[str], TRUST_OPTION] = [],  # noqa: B006
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a model logged with MLflow: its signature, input example, metrics, params,
    tags, run id and source come along."""
    with open_registry(ctx) as registry:
        created = registry.import_mlflow(
            source,
            name=name,
            tracking_uri=tracking_uri,
            trust_pickle=trust_pickle,
            trusted=trust,
            aliases=aliases,
        )
    if as_json:
        print_json(created.to_dict())
        return
    typer.echo(f"imported {source} as {created.reference}")
    print_fields(created.reference, version_row(created))
