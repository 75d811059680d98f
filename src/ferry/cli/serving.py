"""``ferry serve`` and ``ferry predict``: the server and batch scoring."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ferry.cli.bundles import open_bundle
from ferry.cli.models import open_registry
from ferry.cli.output import JSON_OPTION, print_json, reports_errors
from ferry.errors import InvalidInput

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ferry.registry.registry import Registry
    from ferry.training.background import BackgroundTrainer


@reports_errors
def serve(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REF", help="NAME@ALIAS (or NAME, NAME:VERSION); default FERRY_MODEL."
        ),
    ] = None,
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to bind.")] = 8000,
    workers: Annotated[
        int, typer.Option(metavar="N", help="Worker processes (metrics are summed over them).")
    ] = 1,
    pipeline: Annotated[
        list[Path] | None,
        typer.Option(metavar="FILE", help="A pipeline file POST /train runs (repeatable)."),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option(
            metavar="LEVEL", help="uvicorn log level: critical, error, warning, info, debug."
        ),
    ] = "info",
    bundle: Annotated[
        Path | None,
        typer.Option(
            envvar="FERRY_BUNDLE",
            metavar="DIR",
            help="Serve a bundle written by ferry bake, with no catalog and no registry.",
        ),
    ] = None,
) -> None:
    """Serve models from the registry over HTTP (v2, MLflow and plain protocols)."""
    import uvicorn

    from ferry.config import ServingSettings
    from ferry.serving.app import create_app
    from ferry.serving.server import ModelServer

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    settings = ServingSettings.from_env(tuple(refs or ()))
    baked = open_bundle(ctx, bundle) if bundle is not None else None
    if baked is not None:
        settings = dataclasses.replace(settings, models=settings.models or (baked.reference,))
        for ref in settings.models:  # a bundle holds one version: say so now, not at each poll
            baked.resolve(ref)
    pipelines = pipeline_files(pipeline)
    if workers > 1:
        os.environ["FERRY_PIPELINE"] = ",".join(str(path) for path in pipelines)
        if baked is not None:
            os.environ["FERRY_BUNDLE"] = str(baked.root)
        _serve_workers(ctx, settings.models, host, port, workers, log_level)
        return
    if baked is not None:
        app = create_app(ModelServer(settings, baked))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        return
    with open_registry(ctx) as registry:
        app = create_app(ModelServer(settings, registry), LazyTrainer(registry, pipelines))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def pipeline_files(given: list[Path] | None) -> list[Path]:
    """Pipeline files from --pipeline or FERRY_PIPELINE (comma-separated); each must exist."""
    paths = list(given or [])
    if not paths and os.environ.get("FERRY_PIPELINE"):
        paths = [Path(p) for p in os.environ["FERRY_PIPELINE"].split(",") if p.strip()]
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"pipeline file {str(path)!r} does not exist")
    return paths


class LazyTrainer:
    """``POST /train`` support that imports the training stack only when first used.

    Serving imports nothing from training; this CLI-side adapter wires the two together and keeps
    pandas and scikit-learn out of the server's cold start.
    """

    def __init__(self, registry: Registry, pipelines: list[Path]) -> None:
        self._registry = registry
        self._pipelines = pipelines
        self._trainer: BackgroundTrainer | None = None

    def _get(self) -> BackgroundTrainer:
        if self._trainer is None:
            from ferry.training.background import BackgroundTrainer

            self._trainer = BackgroundTrainer(self._registry, self._pipelines)
        return self._trainer

    def start(self, model: str, force: bool = False) -> str:
        """Queue and start a run of ``model``'s pipeline."""
        return self._get().start(model, force)

    def run(self, run_id: str) -> dict[str, Any]:
        """One run record."""
        return self._get().run(run_id)


def app_from_env() -> Starlette:
    """The app built from ``FERRY_*`` variables: the factory each uvicorn worker calls."""
    from ferry.config import ServingSettings
    from ferry.registry.registry import Registry
    from ferry.serving.app import create_app
    from ferry.serving.server import ModelServer

    logging.basicConfig(
        level=os.environ.get("FERRY_LOG_LEVEL", "INFO").upper(),
        format="%(levelname)s:     %(name)s: %(message)s",
    )
    if os.environ.get("FERRY_BUNDLE"):
        from ferry.config import RegistrySettings
        from ferry.serving.bundle import Bundle

        baked = Bundle(Path(os.environ["FERRY_BUNDLE"]), RegistrySettings.resolve())
        return create_app(ModelServer(ServingSettings.from_env(), baked))
    registry = Registry()
    trainer = LazyTrainer(registry, pipeline_files(None))
    return create_app(ModelServer(ServingSettings.from_env(), registry), trainer)


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
            "ferry.cli.serving:app_from_env", factory=True, host=host, port=port,
            workers=workers, log_level=log_level, access_log=False,
        )  # fmt: skip


@reports_errors
def predict(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME@ALIAS, NAME:VERSION or NAME.")],
    input_path: Annotated[
        str, typer.Option("--input", "-i", metavar="FILE", help="A .csv or .parquet file.")
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (.parquet or .csv)."),
    ],
    chunk_rows: Annotated[int, typer.Option(metavar="N", help="Rows per model call.")] = 50_000,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COLUMN",
            help="Carry only this input column into the output (repeatable); by default every "
            "column that is not a feature (ids such as customer_id) is carried.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            metavar="ENGINE",
            help="pandas (this process) or spark (--input and --output may be folders of "
            "Parquet files or URLs Spark reads).",
        ),
    ] = "pandas",
    master: Annotated[
        str, typer.Option(metavar="MASTER", help="Spark master for --engine spark.")
    ] = "local[*]",
) -> None:
    """Score a file with a registered version, chunk by chunk, with a progress bar.

    The output holds the carried input columns, then prediction, confidence (classifiers)
    and model_version. With --engine spark it holds every input column (or --keep), then the
    task's outputs and ferry_version (docs/spark.md).
    """
    from ferry.cli.compat import checked_for_loading

    if engine not in ("pandas", "spark"):
        raise InvalidInput(f"--engine {engine!r}: choose pandas or spark")
    with open_registry(ctx) as registry:
        checked_for_loading(registry, ref)
        if engine == "spark":
            from ferry.spark.jobs import score_path

            written = score_path(registry, ref, input_path, output, master, keep or None)
        else:
            from ferry.cli.scoring import score_file

            written = score_file(
                registry, ref, Path(input_path), Path(output), chunk_rows, keep or None
            )
    typer.echo(f"wrote {written} predictions to {output}")


@reports_errors
def compile_models(
    ctx: typer.Context,
    refs: Annotated[
        list[str], typer.Argument(metavar="REF", help="NAME@ALIAS, NAME:VERSION or NAME.")
    ],
    as_json: bool = JSON_OPTION,
) -> None:
    """Prepare versions for serving ahead of time: fetch, verify, compile to ONNX, cache.

    A server started later (same FERRY_CACHE_DIR) then loads from the cache in milliseconds,
    without importing scikit-learn; run it after registering, or when building an image.
    """
    from ferry.config import ServingSettings
    from ferry.serving.cache import ModelCache
    from ferry.serving.loader import ModelLoader

    settings = ServingSettings.from_env(tuple(refs))
    results = []
    with open_registry(ctx) as registry:
        loader = ModelLoader(
            registry, ModelCache(settings.cache_dir or registry.settings.home / "cache"), settings
        )
        for ref in refs:
            loaded = loader.load(registry.resolve(ref))
            results.append(
                {"reference": loaded.reference, "backend": loaded.runner.backend,
                 "load_ms": round(loaded.load_ms, 1), "note": loaded.compile_note}
            )  # fmt: skip
    if as_json:
        print_json(results)
        return
    for result in results:
        note = f" ({result['note']})" if result["note"] else ""
        typer.echo(
            f"{result['reference']}: {result['backend']} backend, {result['load_ms']} ms{note}"
        )
