"""``ferry retain``: old versions (``NAME --keep N``) and old prediction-log files (``--logs``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import JSON_OPTION, print_json, reports_errors
from ferry.config import RegistrySettings
from ferry.errors import InvalidInput
from ferry.logstore.retention import LogRetention
from ferry.logstore.store import LogStore


@reports_errors
def retain(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Model name: delete its old versions (with --keep)."),
    ] = None,
    keep: Annotated[
        int | None, typer.Option(metavar="N", help="How many of the newest versions to keep.")
    ] = None,
    logs: Annotated[
        bool, typer.Option("--logs", help="Prune the prediction log and feedback files.")
    ] = False,
    days: Annotated[
        float | None,
        typer.Option(
            envvar="FERRY_LOG_RETENTION_DAYS",
            metavar="DAYS",
            help="With --logs: keep this many days of log.",
        ),
    ] = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            envvar="FERRY_LOG_MAX_BYTES",
            metavar="BYTES",
            help="With --logs: keep the newest files up to this size.",
        ),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete old versions (NAME --keep N: the newest N and every aliased version stay), or old
    prediction-log files (--logs --days N and/or --max-bytes N); ferry's own files only."""
    if name is None and not logs:
        raise InvalidInput("name a model (NAME --keep N) or pass --logs (--days N, --max-bytes N)")
    answers: dict[str, Any] = {}
    if name is not None:
        if keep is None:
            raise InvalidInput(f"say how many versions of {name} to keep: --keep N")
        answers["versions"] = _versions(ctx, name, keep, as_json)
    if logs:
        answers["logs"] = _logs(ctx, LogRetention(days, max_bytes), as_json)
    if as_json:
        print_json(next(iter(answers.values())) if len(answers) == 1 else answers)


def _versions(ctx: typer.Context, name: str, keep: int, as_json: bool) -> dict[str, Any]:
    with open_registry(ctx) as registry:
        result = registry.retain(name, keep)
    if not as_json:
        typer.echo(
            f"kept {', '.join(result.kept) or 'nothing'}; "
            f"deleted {', '.join(result.deleted) or 'nothing'}"
        )
        for path in result.cleaned:
            typer.echo(f"cleaned leftover {path}")
    return result.to_dict()


def _logs(ctx: typer.Context, retention: LogRetention, as_json: bool) -> dict[str, Any]:
    if not retention.active:
        raise InvalidInput(
            "--logs needs a limit: --days N and/or --max-bytes N "
            "(or FERRY_LOG_RETENTION_DAYS / FERRY_LOG_MAX_BYTES)"
        )
    settings = RegistrySettings.resolve((ctx.find_root().obj or {}).get("home"))
    store = LogStore(settings.log_url, settings.storage_options)
    result = retention.apply(store, datetime.now(UTC))
    answer = {
        "location": store.location,
        **result.to_dict(),
        "removed": [store.relative(file.path) for file in result.removed],
    }
    if not as_json:
        typer.echo(
            f"removed {answer['removed_files']} log files ({answer['removed_bytes']} bytes); "
            f"kept {answer['kept_files']} ({answer['kept_bytes']} bytes) at {store.location}"
        )
    return answer
