"""``python -m ferry.serve``: the serving process, started with only what serving needs.

``ferry serve`` dispatches here without loading Typer or Rich. Arguments are read with argparse;
the registry opens on first use (see ``serving/registry_link.py``), so a version whose files and
compiled model are cached answers its first prediction before SQLAlchemy, pandas or scikit-learn
is imported. ``ferry serve --help`` is the full help.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferry.errors import FerryError, InvalidInput

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ferry.registry.registry import Registry
    from ferry.serving.registry_link import RegistryLink
    from ferry.training.background import BackgroundTrainer

_LOG_FORMAT = "%(levelname)s:     %(name)s: %(message)s"
_WS = "none"
"""uvicorn's WebSocket protocol: none. ferry has no WebSocket route, and uvicorn's default
imports the ``websockets`` package before the server answers."""


def main(argv: Sequence[str] | None = None, home: str | None = None) -> int:
    """Parse ``ferry serve``'s arguments and serve; errors become one line and exit 1."""
    parser = argparse.ArgumentParser(prog="ferry serve", description=__doc__)
    parser.add_argument("refs", nargs="*", metavar="REF")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pipeline", type=Path, action="append")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--bundle", type=Path, default=os.environ.get("FERRY_BUNDLE") or None)
    args = parser.parse_intermixed_args(argv)
    try:
        serve(args.refs, args.host, args.port, args.workers, args.pipeline, args.log_level,
              home, args.bundle)  # fmt: skip
    except FerryError as error:
        return _fail(f"error: {error}")
    except Exception as error:
        if os.environ.get("FERRY_DEBUG"):
            raise
        return _fail(f"error: {type(error).__name__}: {error}")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(message.replace("\n", " ") + "\n")
    return 1


def serve(
    refs: Sequence[str],
    host: str,
    port: int,
    workers: int,
    pipeline: list[Path] | None,
    log_level: str,
    home: str | Path | None,
    bundle: Path | None = None,
) -> None:
    """Serve ``refs`` (default ``FERRY_MODEL``) over HTTP until stopped; with ``bundle``, the
    version ``ferry bake`` wrote there, with no catalog and no registry."""
    import uvicorn

    from ferry.config import RegistrySettings, ServingSettings
    from ferry.serving.app import create_app
    from ferry.serving.bundle import Bundle
    from ferry.serving.registry_link import RegistryLink
    from ferry.serving.server import ModelServer

    _import_runtime()
    _tune_allocator()
    _tune_interpreter()
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    settings = ServingSettings.from_env(tuple(refs))
    baked = Bundle(bundle, RegistrySettings.resolve(home)) if bundle is not None else None
    if baked is not None:
        settings = dataclasses.replace(settings, models=settings.models or (baked.reference,))
        for ref in settings.models:  # a bundle holds one version: say so now, not at each poll
            baked.resolve(ref)
    pipelines = pipeline_files(pipeline)
    if workers > 1:
        os.environ["FERRY_PIPELINE"] = ",".join(str(path) for path in pipelines)
        if baked is not None:
            os.environ["FERRY_BUNDLE"] = str(baked.root)
        _serve_workers(home, settings.models, host, port, workers, log_level)
        return
    if baked is not None:
        app = create_app(ModelServer(settings, baked))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, ws=_WS)
        return
    link = RegistryLink.lazy(home)
    try:
        app = create_app(ModelServer(settings, link), LazyTrainer(link, pipelines))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, ws=_WS)
    finally:
        link.close()


def _import_runtime() -> None:
    """Import onnxruntime now, so that ``startup_ms`` counts it among the imports rather than
    in the first session's opening (it is the bulk of what serving imports)."""
    with contextlib.suppress(ImportError):  # the ``onnx`` extra is optional: native serving
        importlib.import_module("onnxruntime")


def _tune_allocator() -> None:
    """Ask glibc's malloc for 16 MB of headroom each time its heap grows (``M_TOP_PAD``).

    Opening a session copies a model's attributes through short-lived buffers: with glibc's
    default (a threshold that moves, so each large buffer is a fresh mapping) a fresh process
    opening RandomForest(100) took ~6,560 page faults, with the headroom ~4,780 and about a fifth
    less CPU (A/B, fresh processes, load 7-8 on 2 cores: 40.5 to 32.9 ms median). Pages become
    resident only when touched. Without glibc (musl) nothing changes."""
    import ctypes  # already imported by numpy

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_TOP_PAD, _TOP_PAD_BYTES)


_M_TOP_PAD = -2
"""glibc's ``mallopt`` parameter number for the heap's top padding (``malloc.h``)."""
_TOP_PAD_BYTES = 16 * 1024 * 1024


def _tune_interpreter() -> None:
    """Hand the GIL over every 0.5 ms instead of 5 ms. The event loop gives the GIL up at
    each socket wait and must win it back from a busy thread (the prediction log's writer
    building Parquet): at the default interval each request paid up to 5 ms per hand-over,
    which made the p99 at 32 connections. With one busy thread the cost is a few more
    switches during a flush."""
    sys.setswitchinterval(_switch_interval_ms() / 1000)


def _switch_interval_ms() -> float:
    """``FERRY_SWITCH_INTERVAL_MS`` (default 0.5): milliseconds, above 0 and finite."""
    given = os.environ.get("FERRY_SWITCH_INTERVAL_MS", "0.5")
    try:
        value = float(given)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise InvalidInput(
            f"FERRY_SWITCH_INTERVAL_MS must be a number of milliseconds above 0, got {given!r}"
        )
    return value


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

    Serving imports nothing from training; this adapter wires the two together and keeps
    pandas and scikit-learn out of the server's cold start.
    """

    def __init__(self, registry: Registry | RegistryLink, pipelines: list[Path]) -> None:
        self._registry = registry
        self._pipelines = pipelines
        self._trainer: BackgroundTrainer | None = None

    def _get(self) -> BackgroundTrainer:
        if self._trainer is None:
            from ferry.serving.registry_link import RegistryLink
            from ferry.training.background import BackgroundTrainer

            registry = self._registry
            if isinstance(registry, RegistryLink):
                registry = registry.get()
            self._trainer = BackgroundTrainer(registry, self._pipelines)
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
    from ferry.serving.app import create_app
    from ferry.serving.registry_link import RegistryLink
    from ferry.serving.server import ModelServer

    _tune_allocator()
    _tune_interpreter()
    logging.basicConfig(level=os.environ.get("FERRY_LOG_LEVEL", "INFO").upper(), format=_LOG_FORMAT)
    if os.environ.get("FERRY_BUNDLE"):
        from ferry.config import RegistrySettings
        from ferry.serving.bundle import Bundle

        baked = Bundle(Path(os.environ["FERRY_BUNDLE"]), RegistrySettings.resolve())
        return create_app(ModelServer(ServingSettings.from_env(), baked))
    link = RegistryLink.lazy()
    trainer = LazyTrainer(link, pipeline_files(None))
    return create_app(ModelServer(ServingSettings.from_env(), link), trainer)


def _serve_workers(
    home: str | Path | None,
    models: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
    log_level: str,
) -> None:
    """Several uvicorn workers, each building the app from the environment set here."""
    import uvicorn

    os.environ["FERRY_MODEL"] = ",".join(models)
    if home is not None:
        os.environ["FERRY_HOME"] = str(home)
    with tempfile.TemporaryDirectory(prefix="ferry-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run(
            "ferry.serve:app_from_env", factory=True, host=host, port=port,
            workers=workers, log_level=log_level, access_log=False, ws=_WS,
        )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
