"""The ``ferry`` command line: the Typer application (``main.py`` is the script's entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ferry.cli import serving
from ferry.cli.bundles import bake
from ferry.cli.compat import compat
from ferry.cli.dashboard import ui
from ferry.cli.drift import drift
from ferry.cli.help import FerryGroup
from ferry.cli.imports import import_app
from ferry.cli.model_files import parse_pairs, read_example, read_model, refuse_mlflow_folder
from ferry.cli.models import models_app, open_registry, version_row
from ferry.cli.output import (
    JSON_OPTION,
    TRUST_OPTION,
    print_fields,
    print_json,
    print_table,
    reports_errors,
    when,
)
from ferry.cli.retention import retain
from ferry.cli.rollouts import rollout_app
from ferry.cli.training import monitor, runs, schedule, stats, train
from ferry.registry.catalog_session import AliasMove
from ferry.registry.registry import ModelVersion

app = typer.Typer(
    name="ferry",
    cls=FerryGroup,
    rich_markup_mode=None,  # help is plain text: brackets in it are never eaten as markup
    help="Carry models from training to production and keep them healthy there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models_app, name="models")
app.add_typer(rollout_app, name="rollout")
app.add_typer(import_app, name="import")
app.command("drift")(drift)


@app.callback()
def configure(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            envvar="FERRY_HOME", metavar="DIR", help="Registry folder (default ~/.ferry)."
        ),
    ] = None,
) -> None:
    """Settings shared by every command."""
    ctx.obj = {"home": home}


@app.command()
@reports_errors
def register(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A .skops, .onnx, .ubj/.json (XGBoost), .txt (LightGBM) or .pkl/.joblib model file.",
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", metavar="NAME", help="Model name.")],
    input_example: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Rows like the model's inputs (.csv/.parquet/.json/.npy)."
        ),
    ] = None,
    description: Annotated[str, typer.Option(metavar="TEXT", help="What this version is.")] = "",
    version: Annotated[
        str | None, typer.Option(metavar="VERSION", help="An explicit, unused version.")
    ] = None,
    metric: Annotated[
        list[str], typer.Option(metavar="NAME=VALUE", help="A metric of this version (repeatable).")
    ] = [],  # noqa: B006
    tag: Annotated[list[str], typer.Option(metavar="KEY=VALUE", help="A tag (repeatable).")] = [],  # noqa: B006
    trust_pickle: Annotated[
        bool, typer.Option(help="Load a pickle/joblib file you made yourself.")
    ] = False,
    trust: Annotated[list[str], TRUST_OPTION] = [],  # noqa: B006
    serialization: Annotated[
        str | None,
        typer.Option(
            metavar="FORMAT",
            help="skops (default), joblib or pickle; XGBoost: ubj (default) or json.",
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            metavar="TASK",
            help="What an .onnx file answers: classifier, regressor, clusterer, transformer "
            "or embedding (default: told from its outputs).",
        ),
    ] = None,
    outputs: Annotated[
        str | None,
        typer.Option(
            metavar="OUT=NAME,...",
            help="Which outputs of an .onnx file are the task's: label=NAME, "
            "probabilities=NAME, distances=NAME or outputs=NAME, comma-separated.",
        ),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a model file as a new version."""
    refuse_mlflow_folder(path)
    model = read_model(path, trust_pickle=trust_pickle, trusted=trust)
    # Without a file the registry builds the example from what the model declares.
    example = read_example(input_example, model) if input_example is not None else None
    tags = parse_pairs(tag, "tag")
    metrics = {key: float(value) for key, value in parse_pairs(metric, "metric").items()}
    with open_registry(ctx) as registry:
        created = registry.register(
            model,
            name,
            input_example=example,
            metrics=metrics,
            description=description,
            tags=tags,
            version=version,
            serialization=serialization,
            task=task,
            outputs=parse_pairs(outputs.split(","), "output") if outputs else None,
        )
    _print_version(created, as_json, f"registered {created.reference}")


@app.command()
@reports_errors
def promote(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME, NAME:VERSION or NAME@ALIAS.")],
    alias: Annotated[
        str, typer.Option("--alias", "-a", metavar="ALIAS", help="Alias to move.")
    ] = "production",
    reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why, for the history.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Point an alias at a version."""
    with open_registry(ctx) as registry:
        target = registry.resolve(ref)
        move = registry.set_alias(target.name, alias, target.version, reason=reason)
    _print_move(target.name, alias, move, target.version, as_json)


@app.command()
@reports_errors
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    alias: Annotated[
        str, typer.Option("--alias", "-a", metavar="ALIAS", help="Alias to move back.")
    ] = "production",
    reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why, for the history.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Move an alias back to its previous version (after verifying it)."""
    with open_registry(ctx) as registry:
        move = registry.rollback(name, alias, reason=reason)
    _print_move(name, alias, move, move.to_version, as_json)


@app.command()
@reports_errors
def history(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    alias: Annotated[
        str | None, typer.Option("--alias", "-a", metavar="ALIAS", help="Only this alias.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every recorded alias move: from, to, when, who, why."""
    with open_registry(ctx) as registry:
        moves = registry.alias_history(name, alias)
    if as_json:
        print_json([move.to_dict() for move in moves])
        return
    rows = [
        (when(m.moved_at), m.alias, m.kind, m.from_version, m.to_version, m.actor, m.reason)
        for m in moves
    ]
    print_table(
        f"alias history of {name}", ("when", "alias", "kind", "from", "to", "by", "reason"), rows
    )


@app.command()
@reports_errors
def delete(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME:VERSION to delete.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete one version (refused while an alias points at it)."""
    with open_registry(ctx) as registry:
        deleted = registry.delete_version(ref)
    if as_json:
        print_json({"deleted": deleted.reference})
    else:
        typer.echo(f"deleted {deleted.reference}")


@app.command()
@reports_errors
def verify(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Re-hash every artifact; exit 1 when anything is missing or altered."""
    with open_registry(ctx) as registry:
        report = registry.verify()
    if as_json:
        print_json(report.to_dict())
    else:
        for path in report.cleaned:
            typer.echo(f"cleaned leftover {path}")
        rows = [(p["model"], p["version"], p["file"], p["problem"]) for p in report.problems]
        if rows:
            print_table("problems", ("model", "version", "file", "problem"), rows)
        typer.echo(
            f"{'ok' if report.ok else 'FAILED'}: "
            f"{report.versions} versions, {report.files} files checked"
        )
    if not report.ok:
        raise typer.Exit(1)


def _print_version(version: ModelVersion, as_json: bool, headline: str) -> None:
    if as_json:
        print_json(version.to_dict())
        return
    typer.echo(headline)
    print_fields(version.reference, version_row(version))


def _print_move(name: str, alias: str, move: AliasMove | None, version: str, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "model": name,
                "alias": alias,
                "version": version,
                "moved": move is not None,
                "move": move.to_dict() if move else None,
            }
        )
        return
    if move is None:
        typer.echo(f"{name}@{alias} already points at {version}")
    else:
        typer.echo(
            f"{name}@{alias}: {move.from_version or '(none)'} -> {move.to_version} ({move.kind})"
        )


app.command()(serving.serve)
app.command()(serving.predict)
app.command("compile")(serving.compile_models)
app.command("compat")(compat)
app.command()(retain)
app.command()(bake)
app.command()(train)
app.command()(runs)
app.command()(stats)
app.command()(monitor)
app.command()(schedule)
app.command()(ui)
