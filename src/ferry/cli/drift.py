"""``ferry drift``: is the current data different from the reference?

The reference is a CSV/Parquet file, or the drift profile a registered version carries
(``--model churn@production``). Exit codes are for CI: 0 no drift, 1 drift (only with
``--fail-on-drift``), 2 anything went wrong, explained in one line on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from ferry.cli.models import open_registry
from ferry.cli.output import exits_on_error, print_table
from ferry.cli.tables import read_table
from ferry.errors import InvalidInput, NotFound

if TYPE_CHECKING:  # the detector loads only when the command runs (CLI start-up)
    from ferry.drift import DriftDetector, DriftReport

P = ParamSpec("P")
R = TypeVar("R")

EXIT_DRIFT = 1
EXIT_ERROR = 2


_exits_2_on_error = exits_on_error(EXIT_ERROR)
"""Exit 1 is reserved for "drift found", so a CI job can tell a drifted batch from a broken one."""


Reference = Annotated[
    str | None,
    typer.Option("--reference", metavar="FILE", help="Reference data (.csv or .parquet)."),
]
Current = Annotated[
    str | None, typer.Option("--current", metavar="FILE", help="Current data (.csv or .parquet).")
]
Engine = Annotated[
    str,
    typer.Option(
        metavar="ENGINE",
        help="pandas (this process) or spark (paths may be folders of Parquet files, URLs "
        "Spark reads, or fsspec URLs such as s3://bucket/prefix/, opened with FERRY_S3_* or "
        "FERRY_STORAGE_OPTIONS).",
    ),
]
Master = Annotated[str, typer.Option(metavar="MASTER", help="Spark master for --engine spark.")]
JsonOut = Annotated[
    Path | None,
    typer.Option(
        "--json", metavar="FILE", help="Write the JSON report to this file ('-': stdout)."
    ),
]
HtmlOut = Annotated[
    Path | None,
    typer.Option("--html", metavar="FILE", help="Write a self-contained HTML report here."),
]
FailOnDrift = Annotated[
    bool, typer.Option("--fail-on-drift", help="Exit with code 1 when drift is detected.")
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model", metavar="REF", help="Use this registered version's drift profile as reference."
    ),
]
Categorical = Annotated[
    list[str] | None,
    typer.Option(
        "--categorical", metavar="COLUMN", help="Compare COLUMN as categorical (repeatable)."
    ),
]
Ignore = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore", metavar="COLUMN", help="Do not compare COLUMN: ids, dates (repeatable)."
    ),
]


@_exits_2_on_error
def drift(
    ctx: typer.Context,
    reference: Reference = None,
    current: Current = None,
    json_out: JsonOut = None,
    html_out: HtmlOut = None,
    fail_on_drift: FailOnDrift = False,
    model: Model = None,
    categorical: Categorical = None,
    ignore: Ignore = None,
    engine: Engine = "pandas",
    master: Master = "local[*]",
) -> None:
    """Compare current data with a reference file or a registered version's drift profile."""
    if current is None:
        raise InvalidInput("--current is required: the data to check")
    if (reference is None) == (model is None):
        raise InvalidInput("give exactly one reference: --reference FILE or --model REF")
    if model is not None and (categorical or ignore):
        raise InvalidInput("--categorical and --ignore apply to --reference; a profile has its own")
    if engine not in ("pandas", "spark"):
        raise InvalidInput(f"--engine {engine!r}: choose pandas or spark")
    from ferry.drift import DriftDetector

    if reference is not None:
        detector = DriftDetector(categorical=categorical or [], ignore=ignore or [])
    else:
        detector = _registered_detector(ctx, str(model))
    if engine == "spark":
        from ferry.config import storage_options
        from ferry.spark.jobs import drift_report

        options = storage_options(os.environ)
        report = drift_report(detector, reference, current, master, options)
    else:
        if reference is not None:
            detector.fit(read_table(Path(reference), fast=True))
        report = detector.check(read_table(Path(current), fast=True))
    if json_out is not None:
        _write_json(report, json_out)
    if html_out is not None:
        report.to_html(html_out)
    if json_out != Path("-"):
        _print_summary(report)
    if report.drift and fail_on_drift:
        raise typer.Exit(EXIT_DRIFT)


def _registered_detector(ctx: typer.Context, ref: str) -> DriftDetector:
    from ferry.drift import PROFILE_FILENAME, DriftDetector

    with open_registry(ctx) as registry:
        try:
            data = registry.read_artifact(ref, PROFILE_FILENAME)
        except NotFound as error:
            raise NotFound(
                f"{error}: register the version with extras={{{PROFILE_FILENAME!r}: path}} "
                "holding a fitted DriftDetector.save(path)"
            ) from error
    return DriftDetector.load(data)


def _write_json(report: DriftReport, target: Path) -> None:
    if target == Path("-"):
        sys.stdout.write(report.to_json() + "\n")
    else:
        report.to_json(target)


def _print_summary(report: DriftReport) -> None:
    tested = len(report.tested)
    drifted = sum(feature.drifted for feature in report.tested)
    verdict = "DRIFT" if report.drift else "no drift"
    typer.echo(
        f"{verdict}: {drifted} of {tested} features drifted ({report.drift_share:.1%}; "
        f"the data drifts at {report.drift_share_threshold:.0%})"
    )
    if report.empty_features:
        typer.echo(f"arrived with no values at all: {', '.join(report.empty_features)}")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    if report.prediction is not None:
        typer.echo(f"predictions: {'drifted' if report.prediction_drift else 'stable'}")
    if report.performance is not None:
        performance = report.performance
        typer.echo(
            f"performance: {performance.metric} {performance.baseline:.4g} -> "
            f"{performance.current:.4g} ({'drifted' if performance.drifted else 'stable'})"
        )
    rows = [
        (f.name, f.type, f.test, _short(f.statistic), _short(f.p_value), "; ".join(f.reasons))
        for f in report.drifted_features
    ]
    if rows:
        columns = ("feature", "type", "test", "statistic", "p-value", "why")
        print_table("drifted features", columns, rows)


def _short(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
