"""``ferry serve`` and ``ferry predict``: the server and batch scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import JSON_OPTION, print_json, reports_errors


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
    from ferry.serve import serve as run_server  # ``ferry serve`` itself skips Typer: see main()

    home = (ctx.find_root().obj or {}).get("home")
    run_server(refs or (), host, port, workers, pipeline, log_level, home, bundle)


@reports_errors
def predict(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME@ALIAS, NAME:VERSION or NAME.")],
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help="A .csv or .parquet file (--engine spark: also a folder or URL).",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to write (.parquet or .csv; --engine spark: a new folder or URL).",
        ),
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
            "Parquet files, URLs Spark reads, or fsspec URLs such as s3://bucket/prefix/, "
            "opened with FERRY_S3_* or FERRY_STORAGE_OPTIONS).",
        ),
    ] = "pandas",
    master: Annotated[
        str, typer.Option(metavar="MASTER", help="Spark master for --engine spark.")
    ] = "local[*]",
) -> None:
    """Score a file with a registered version, chunk by chunk, with a progress bar.

    The output holds the carried input columns, then prediction, confidence (classifiers,
    clusterers) and model_version. With --engine spark it holds every input column (or --keep), then the
    task's outputs and ferry_version (docs/spark.md).
    """
    from ferry.cli.compat import checked_for_loading
    from ferry.errors import InvalidInput

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
    without importing scikit-learn or opening the catalog before it answers; run it after
    registering, or when building an image.
    """
    from ferry.config import ServingSettings
    from ferry.serving.cache import ModelCache
    from ferry.serving.loader import ModelLoader
    from ferry.serving.resolutions import Resolutions

    settings = ServingSettings.from_env(tuple(refs))
    results = []
    with open_registry(ctx) as registry:
        cache_dir = settings.cache_dir or registry.settings.home / "cache"
        loader = ModelLoader(registry, ModelCache(cache_dir), settings)
        resolutions = Resolutions.in_cache(cache_dir, registry.settings.catalog_url)
        for ref in refs:
            version = registry.resolve(ref)
            loaded = loader.load(version)
            resolutions.put(ref, version)  # a server started on this cache skips the catalog
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
