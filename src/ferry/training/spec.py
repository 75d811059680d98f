"""The pipeline file: a TOML recipe turned into a validated, frozen :class:`PipelineSpec`.

Every section rejects unknown keys, every value is checked once here, and every mistake becomes
one :class:`~ferry.errors.InvalidInput` naming the key (``estimator.params``, ``data.source``)
and the bad value. Loading builds the estimator once, so a misspelt class or parameter fails
before any data is read; the class is imported only under an allowed module prefix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, ValidationError

from ferry.errors import InvalidInput
from ferry.training.estimators import (
    DEFAULT_PREFIXES,
    check_prefixes,
    check_search_params,
    infer_task,
    make_estimator,
    make_pipeline,
)
from ferry.training.metrics import DEFAULT_PRIMARY, LABEL_METRICS, check_metric
from ferry.training.sections import (
    PREDICTION_LOG,
    REJECTED_ALIAS,
    AlertsSection,
    DataSection,
    DriftSection,
    EstimatorSection,
    EvaluationSection,
    ModelSection,
    PromotionSection,
    ScheduleSection,
    SearchSection,
    Section,
)

__all__ = ["PREDICTION_LOG", "REJECTED_ALIAS", "PipelineSpec", "load_spec", "spec_from_dict"]


class PipelineSpec(Section):
    """A validated pipeline file. Build it with :func:`load_spec`."""

    model: ModelSection
    data: DataSection
    estimator: EstimatorSection
    search: SearchSection | None = None
    evaluation: EvaluationSection = EvaluationSection()
    promotion: PromotionSection = PromotionSection()
    drift: DriftSection = DriftSection()
    schedule: ScheduleSection = ScheduleSection()
    alerts: AlertsSection = AlertsSection()

    _origin: Path | None = PrivateAttr(None)
    _prefixes: tuple[str, ...] = PrivateAttr(DEFAULT_PREFIXES)

    @property
    def origin(self) -> str:
        """The pipeline file this spec came from (empty for a spec built in code)."""
        return "" if self._origin is None else str(self._origin)

    @property
    def task(self) -> str:
        """The task, known once the spec is loaded (given or inferred from the estimator)."""
        return self.evaluation.task or "classification"

    @property
    def primary_metric(self) -> str:
        """The metric promotion decisions compare."""
        return self.evaluation.primary_metric or DEFAULT_PRIMARY[self.task]

    @property
    def performance_metric(self) -> str | None:
        """The metric performance drift watches: label-based, as the prediction log holds labels."""
        if self.drift.performance_metric is not None:
            return self.drift.performance_metric
        if self.primary_metric in LABEL_METRICS:
            return self.primary_metric
        return "accuracy" if self.task == "classification" else None

    def new_estimator(self) -> Any:
        """A fresh, unfitted estimator as the file describes it."""
        section = self.estimator
        if section.steps:
            steps = [(step.name, step.class_, step.params) for step in section.steps]
            return make_pipeline(steps, section.params, self._prefixes)
        return make_estimator(section.class_, section.params, self._prefixes, "estimator")


def load_spec(path: str | Path, *, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> PipelineSpec:
    """Read, validate and complete a pipeline file; :class:`InvalidInput` names what is wrong."""
    origin = Path(path).expanduser().resolve()
    if not origin.is_file():
        raise InvalidInput(f"pipeline file {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(origin.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{origin.name}: not valid TOML: {error}") from None
    except RecursionError:  # the TOML reader recurses per level: thousands exhaust the stack
        raise InvalidInput(
            f"{origin.name}: values nested far more than {MAX_DEPTH} levels deep"
        ) from None
    return spec_from_dict(raw, origin=origin, prefixes=prefixes)


def spec_from_dict(
    raw: dict[str, Any], *, origin: Path | None = None, prefixes: Sequence[str] = DEFAULT_PREFIXES
) -> PipelineSpec:
    """Validate a parsed pipeline; relative file paths are resolved against ``origin``'s folder."""
    label = origin.name if origin is not None else "pipeline"
    _check_depth(raw, label)
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(f"{label}: {describe(error)}") from None
    folder = origin.parent if origin is not None else Path.cwd()
    spec = spec.model_copy(
        update={"data": _located(spec.data, folder), "drift": _current(spec.drift, folder)}
    )
    spec._origin = origin
    spec._prefixes = check_prefixes(prefixes)
    try:
        return _completed(spec)
    except InvalidInput as error:
        raise InvalidInput(f"{label}: {error}") from None


MAX_DEPTH = 16
"""Tables and arrays nested deeper than this are refused: no pipeline needs them, and deep
nesting would exhaust the stack of code that walks values recursively."""


def _check_depth(raw: dict[str, Any], label: str) -> None:
    """Refuse values nested more than :data:`MAX_DEPTH` levels, naming the key (no recursion)."""
    pending: list[tuple[Any, str, int]] = [(raw, "", 0)]
    while pending:
        value, key, depth = pending.pop()
        if isinstance(value, dict):
            children = [
                (child, f"{key}.{name}" if key else str(name)) for name, child in value.items()
            ]
        elif isinstance(value, list):
            children = [(child, f"{key}[{index}]") for index, child in enumerate(value)]
        else:
            continue
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"{label}: {key.split('[')[0]} is nested more than {MAX_DEPTH} levels deep"
            )
        pending.extend((child, name, depth + 1) for child, name in children)


def describe(error: ValidationError) -> str:
    """The first validation problem as ``key: what is wrong`` (and how many more there are)."""
    problems = error.errors()
    first = problems[0]
    key = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        text = f"unknown key {key!r}{_allowed(first['loc'][:-1])}"
    elif first["type"] == "missing":
        text = f"missing required key {key!r}"
    elif key and not message.startswith(key.split(".")[0]):
        shown = repr(first.get("input"))
        text = f"{key}: {message}" + ("" if shown in message else f" (got {shown})")
    else:
        text = message
    more = len(problems) - 1
    return text + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def _allowed(where: tuple[int | str, ...]) -> str:
    """``; allowed keys: ...`` for the section at ``where`` (empty when it is not one)."""
    model: Any = PipelineSpec
    for part in where:
        if isinstance(part, int):  # an entry of a list of tables: [[estimator.steps]]
            continue
        field = model.model_fields.get(part)
        candidates = (
            [] if field is None else [field.annotation, *getattr(field.annotation, "__args__", ())]
        )
        sections = [c for c in candidates if isinstance(c, type) and issubclass(c, Section)]
        if not sections:
            return ""
        model = sections[0]
    keys = sorted(entry.alias or name for name, entry in model.model_fields.items())
    return f"; allowed keys: {', '.join(keys)}"


def _located(data: DataSection, folder: Path) -> DataSection:
    """File sources resolved against the pipeline's folder and checked to exist."""
    if data.is_sql:
        return data.model_copy(update={"source": _sqlite_located(data.source, folder)})
    source = (folder / Path(data.source).expanduser()).resolve()
    if source.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InvalidInput(
            f"data.source = {data.source!r}: use a .csv or .parquet file, or a SQLAlchemy URL"
        )
    if not source.is_file():
        raise InvalidInput(f"data.source = {data.source!r}: file {str(source)!r} does not exist")
    return data.model_copy(update={"source": str(source)})


def _sqlite_located(url: str, folder: Path) -> str:
    """A relative SQLite database path is relative to the pipeline file, like a CSV source."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise InvalidInput(f"data.source = {url!r} is not a SQLAlchemy URL: {error}") from None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if Path(database).is_absolute():
        return url
    located = parsed.set(database=str((folder / database).resolve()))
    return located.render_as_string(hide_password=False)


def _current(drift: DriftSection, folder: Path) -> DriftSection:
    if drift.current == PREDICTION_LOG:
        return drift
    current = (folder / Path(drift.current).expanduser()).resolve()
    if current.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InvalidInput(
            f'drift.current = {drift.current!r}: use "predictions" or a .csv/.parquet file'
        )
    return drift.model_copy(update={"current": str(current)})


def _completed(spec: PipelineSpec) -> PipelineSpec:
    """Build the estimator once, infer the task, and check every name that depends on it."""
    estimator = spec.new_estimator()
    task = spec.evaluation.task or infer_task(estimator)
    if spec.search is not None:
        check_search_params(estimator, spec.search.params)
    evaluation = spec.evaluation.model_copy(update={"task": task})
    completed = spec.model_copy(update={"evaluation": evaluation})
    completed._origin, completed._prefixes = spec._origin, spec._prefixes
    _check_names(completed)
    _check_drift(completed.drift)
    return completed


def _check_drift(drift: DriftSection) -> None:
    """Let the drift detector check its own settings now, not after a whole training run
    (the column names are checked against the data when a run loads it)."""
    from ferry.drift import DriftDetector
    from ferry.drift.settings import DriftSettings

    try:
        DriftSettings.from_params(DriftDetector(**drift.detector_params()).get_params())
    except InvalidInput as error:
        raise InvalidInput(f"drift.{error}") from None
    both = sorted(set(drift.categorical) & set(drift.numeric))
    if both:
        raise InvalidInput(f"drift.categorical and drift.numeric both list {both}")


def _check_names(spec: PipelineSpec) -> None:
    task = spec.task
    if task != "clustering" and not spec.data.target:
        raise InvalidInput(f"data.target is required for {task}")
    time_column = spec.evaluation.time_column
    if time_column and time_column == spec.data.target:
        raise InvalidInput(f"evaluation.time_column = {time_column!r} is the target")
    check_metric(task, spec.primary_metric, "evaluation.primary_metric")
    for name in spec.promotion.floors:
        check_metric(task, name, f"promotion.floors.{name}")
    if spec.drift.performance_metric is not None:
        if spec.drift.performance_metric not in LABEL_METRICS:
            raise InvalidInput(
                f"drift.performance_metric = {spec.drift.performance_metric!r}: choose one "
                f"computable from logged predictions: {sorted(LABEL_METRICS)}"
            )
        check_metric(task, spec.drift.performance_metric, "drift.performance_metric")
    test = spec.promotion.test
    if test == "mcnemar" and task != "classification":
        raise InvalidInput(f"promotion.test = 'mcnemar' applies to classification, not {task}")
    if (
        spec.promotion.significance is not None
        and _bootstraps(spec)
        and (spec.primary_metric == "roc_auc")
    ):
        raise InvalidInput(
            "promotion.test = 'bootstrap' cannot test roc_auc; use test = 'mcnemar' or "
            "another primary_metric"
        )


def _bootstraps(spec: PipelineSpec) -> bool:
    test = spec.promotion.test
    return test == "bootstrap" or (test == "auto" and spec.task != "classification")
