"""``ferry rollout``: start a canary, shadow or A/B rollout, watch it, promote or abort it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ferry.cli.help import FerryGroup
from ferry.cli.models import open_registry
from ferry.cli.output import (
    JSON_OPTION,
    console,
    print_fields,
    print_json,
    print_table,
    reports_errors,
    when,
)
from ferry.registry.rollout_plan import plan_of
from ferry.registry.rollouts import Rollout, Rollouts

rollout_app = typer.Typer(
    help="Roll a candidate version out beside the primary: canary, shadow or A/B.",
    no_args_is_help=True, cls=FerryGroup, rich_markup_mode=None,
)  # fmt: skip
_NAME = typer.Argument(metavar="NAME", help="Model name.")
_REASON = typer.Option(metavar="TEXT", help="Why, for the history.")


@rollout_app.command("start")
@reports_errors
def start(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="NAME@ALIAS serving the primary.")],
    candidate: Annotated[str, typer.Option(metavar="VERSION", help="The version to roll out.")],
    mode: Annotated[str, typer.Option(metavar="MODE", help="canary, shadow or ab.")] = "canary",
    steps: Annotated[
        str | None, typer.Option(metavar="PERCENTS", help="Traffic steps (default 5,25,50,100).")
    ] = None,
    interval: Annotated[str, typer.Option(metavar="DURATION", help="Time per step.")] = "10m",
    min_requests: Annotated[
        int, typer.Option(metavar="N", help="Candidate requests a step needs before it is judged.")
    ] = 100,
    max_error_rate: Annotated[
        float, typer.Option(metavar="RATE", help="Highest error rate of the candidate.")
    ] = 0.01,
    max_latency_ratio: Annotated[
        float, typer.Option(metavar="RATIO", help="Highest p99 latency over the primary's.")
    ] = 1.5,
    max_latency_ms: Annotated[
        float | None, typer.Option(metavar="MS", help="An absolute p99 bound, in milliseconds.")
    ] = None,
    max_disagreement: Annotated[
        float, typer.Option(metavar="SHARE", help="Highest share of rows predicted differently.")
    ] = 0.05,
    failure_limit: Annotated[
        int, typer.Option(metavar="N", help="Failed checks before the rollout rolls back.")
    ] = 2,
    min_samples: Annotated[
        int, typer.Option(metavar="N", help="A/B: labelled outcomes per arm before testing.")
    ] = 100,
    alpha: Annotated[
        float, typer.Option(metavar="LEVEL", help="A/B: significance level of the test.")
    ] = 0.05,
    max_samples: Annotated[
        int, typer.Option(metavar="N", help="A/B: per arm, end as inconclusive at this many.")
    ] = 10_000,
    metric: Annotated[
        str,
        typer.Option(
            metavar="METRIC", help="A/B: auto, accuracy, squared_error or absolute_error."
        ),
    ] = "auto",
    min_accuracy: Annotated[
        float | None,
        typer.Option(metavar="SHARE", help="Lowest labelled accuracy of the candidate per step."),
    ] = None,
    max_mean_error: Annotated[
        float | None,
        typer.Option(metavar="ERROR", help="Highest labelled mean error (regressors) per step."),
    ] = None,
    max_distance: Annotated[
        float | None,
        typer.Option(metavar="X", help="Highest distance of the candidate's predictions."),
    ] = None,
    distance: Annotated[
        str, typer.Option(metavar="METHOD", help="psi or js (Jensen-Shannon).")
    ] = "psi",
    reason: Annotated[str | None, _REASON] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve a candidate beside the version REF points at; servers pick it up and the analysis
    walks it through the steps."""
    plan = plan_of(
        {"mode": mode, "steps": steps, "interval": interval, "min_requests": min_requests,
         "max_error_rate": max_error_rate, "max_latency_ratio": max_latency_ratio,
         "max_latency_ms": max_latency_ms, "max_disagreement": max_disagreement,
         "failure_limit": failure_limit, "min_samples": min_samples, "alpha": alpha,
         "max_samples": max_samples, "metric": metric, "min_accuracy": min_accuracy,
         "max_mean_error": max_mean_error, "max_distance": max_distance, "distance": distance}
    )  # fmt: skip
    with open_registry(ctx) as registry:
        rollout = Rollouts(registry).start(ref, candidate, plan, reason)
    _show(rollout, as_json)


@rollout_app.command("status")
@reports_errors
def status(ctx: typer.Context, name: Annotated[str, _NAME], as_json: bool = JSON_OPTION) -> None:
    """The model's newest rollout: versions, step, state, bounds and, while it runs, the
    figures of the window the next check will judge, from every replica."""
    from ferry.serving.rollout_view import describe

    with open_registry(ctx) as registry:
        store = Rollouts(registry)
        described = describe(store, store.get(name))
    if as_json:
        print_json(described)
        return
    window = described.pop("current_window", None)
    _print_rollout(described)
    if window is not None:
        _print_window(window, described["min_requests"])


@rollout_app.command("promote")
@reports_errors
def promote(
    ctx: typer.Context,
    name: Annotated[str, _NAME],
    reason: Annotated[str | None, _REASON] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Move the alias to the candidate now and end the rollout."""
    with open_registry(ctx) as registry:
        rollout = Rollouts(registry).promote(name, reason)
    _show(rollout, as_json)


@rollout_app.command("abort")
@reports_errors
def abort(
    ctx: typer.Context,
    name: Annotated[str, _NAME],
    reason: Annotated[str | None, _REASON] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send all traffic back to the primary and end the rollout."""
    with open_registry(ctx) as registry:
        rollout = Rollouts(registry).abort(name, reason)
    _show(rollout, as_json)


@rollout_app.command("history")
@reports_errors
def history(ctx: typer.Context, name: Annotated[str, _NAME], as_json: bool = JSON_OPTION) -> None:
    """Every step, check and decision of the model's rollouts, oldest first."""
    with open_registry(ctx) as registry:
        events = Rollouts(registry).history(name)
    if as_json:
        print_json([event.to_dict() for event in events])
        return
    rows = [(e.rollout_id, when(e.at), e.kind, f"{e.step_percent}%", _detail(e.detail))
            for e in events]  # fmt: skip
    print_table(f"rollouts of {name}", ("rollout", "when", "event", "step", "detail"), rows)


def _show(rollout: Rollout, as_json: bool) -> None:
    if as_json:
        print_json(rollout.to_dict())
        return
    _print_rollout(rollout.to_dict())


def _print_rollout(fields: dict[str, Any]) -> None:
    """The rollout's fields, with its bounds and significance test spelled out in full."""
    fields["bounds"] = _detail(fields["bounds"])
    if fields["significance"] is not None:
        fields["significance"] = _significance(fields["significance"])
    print_fields(f"rollout {fields['id']} of {fields['model']}@{fields['alias']}", fields)


def _print_window(window: dict[str, Any], min_requests: int) -> None:
    """``window 2 so far``: per variant requests, errors, error rate and p99, then the
    comparison of copies, as the next check will read them."""
    from ferry.serving.traffic import VARIANTS

    rows = [(variant, window[variant]["requests"], window[variant]["errors"],
             f"{window[variant]['error_rate']:.2%}", window[variant]["p99_ms"])
            for variant in VARIANTS]  # fmt: skip
    replicas = window["replicas"]
    console.print(f"window {window['window']} so far, from {replicas} "
                  f"replica{'' if replicas == 1 else 's'}; judged from "
                  f"{when(window['judged_from'])} UTC once the candidate has answered "
                  f"{min_requests} requests")  # fmt: skip
    print_table("", ("variant", "requests", "errors", "error rate", "p99 ms"), rows)
    if window["compared"]:
        console.print(f"disagreement {window['disagreement']:.2%} "
                      f"({window['disagreed']} of {window['compared']} rows compared)")  # fmt: skip


def _significance(test: dict[str, Any]) -> str:
    """``better: accuracy 0.95 vs 0.91, effect +0.04, 95% CI [...], p=0.012; labels 398/412``."""
    from ferry.serving.abtest import summary

    samples = test["samples"]
    labels = f"labels {samples['candidate']} candidate / {samples['primary']} primary"
    if test["outcome"] == "collecting":
        return f"collecting {test['metric']}: {labels} (testing at {test['min_samples']} each)"
    return f"{test['outcome']}: {summary(test)}; {labels}"


def _detail(detail: dict[str, object]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(detail.items()) if value is not None)
