"""``ferry serve`` and ``ferry predict``: the server and batch scoring."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import reports_errors


@reports_errors
def serve(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="NAME@ALIAS (or NAME, NAME:VERSION); default FERRY_MODEL."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (metrics are summed over them).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve models from the registry over HTTP (v2, MLflow and plain protocols)."""
    import uvicorn

    from ferry.config import ServingSettings
    from ferry.serving.app import create_app
    from ferry.serving.server import ModelServer

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    settings = ServingSettings.from_env(tuple(refs or ()))
    if workers > 1:
        _serve_workers(ctx, settings.models, host, port, workers, log_level)
        return
    with open_registry(ctx) as registry:
        app = create_app(ModelServer(settings, registry))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def _serve_workers(
    ctx: typer.Context, models: tuple[str, ...], host: str, port: int, workers: int, log_level: str
) -> None:
    """Several uvicorn workers, each building the app from the environment set here."""
    import uvicorn

    home = (ctx.find_root().obj or {}).get("home")
    os.environ["FERRY_MODEL"] = ",".join(models)
    if home is not None:
        os.environ["FERRY_HOME"] = str(home)
    with tempfile.TemporaryDirectory(prefix="ferry-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run(
            "ferry.serving.app:app_from_env", factory=True, host=host, port=port,
            workers=workers, log_level=log_level, access_log=False,
        )  # fmt: skip


@reports_errors
def predict(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS, NAME:VERSION or NAME.")],
    input_path: Annotated[Path, typer.Option("--input", "-i", help="A .csv or .parquet file.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write (.parquet or .csv).")
    ],
    chunk_rows: Annotated[int, typer.Option(help="Rows per model call.")] = 50_000,
) -> None:
    """Score a file with a registered version, chunk by chunk, with a progress bar."""
    from ferry.cli.scoring import score_file

    with open_registry(ctx) as registry:
        written = score_file(registry, ref, input_path, output, chunk_rows)
    typer.echo(f"wrote {written} predictions to {output}")
