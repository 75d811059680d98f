"""``ferry ui``: the web dashboard over the registry."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import reports_errors


@reports_errors
def ui(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to bind.")] = 8080,
    pipeline: Annotated[
        list[Path] | None,
        typer.Option(metavar="FILE", help="A pipeline file the Train button runs (repeatable)."),
    ] = None,
    log_level: Annotated[
        str, typer.Option(metavar="LEVEL", help="uvicorn log level: error, warning, info.")
    ] = "warning",
) -> None:
    """Open the web dashboard: models, versions, alias history, runs, drift; Train, Promote,
    Roll back. With FERRY_API_TOKEN set, the pages ask for it first."""
    import uvicorn

    from ferry.config import ServingSettings
    from ferry.serve import LazyTrainer, pipeline_files
    from ferry.ui.app import create_ui
    from ferry.ui.dashboard import Dashboard

    token = ServingSettings.from_env().api_token
    with open_registry(ctx) as registry:
        trainer = LazyTrainer(registry, pipeline_files(pipeline))
        app = create_ui(Dashboard(registry, trainer, token))
        # Start-up objects (tens of thousands) leave the collector's view, as in `ferry serve`:
        # a full collection scanning them all took 30-70 ms in the middle of a page.
        gc.freeze()
        typer.echo(f"ferry dashboard on http://{host}:{port}/", err=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
