"""What each page shows, read from the registry and the run history as small typed values.

The pages never index metadata dictionaries themselves: everything they show is parsed here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, tuple_

from ferry.drift.distribution import Distribution
from ferry.errors import NotFound
from ferry.flavors.tasks import task_of
from ferry.registry import tables
from ferry.registry.catalog_session import AliasMove
from ferry.registry.refs import Version
from ferry.registry.registry import ModelVersion, Registry
from ferry.registry.rollouts import Rollout, RolloutEvent, Rollouts
from ferry.training.runs import CheckRecord, RunRecord, RunStore

RECENT_RUNS = 50
RECENT_MOVES = 50
"""Alias moves on the Model page's timeline; ``ferry history NAME`` lists every one."""
RECENT_CHECKS = 200
RECENT_ROLLOUT_EVENTS = 50
SHOWN_DISTRIBUTIONS = 12
"""Features plotted by default (drifted first); the page links to all of them."""


@dataclass(frozen=True)
class ModelRow:
    """One line of the Models page."""

    name: str
    aliases: dict[str, str]
    latest: str
    versions: int
    updated_at: str
    last_run: RunRecord | None
    last_check: CheckRecord | None
    live: str | None = None
    alias_created: dict[str, str] = field(default_factory=dict)
    """When the version each alias points to was registered: its age, not the alias's."""


@dataclass(frozen=True)
class VersionRow:
    """One version in the Model page's table."""

    version: str
    created_at: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    parent: str | None
    dataset: str
    flavor: str
    task: str
    size_bytes: int


@dataclass(frozen=True)
class ModelDetail:
    """Everything the Model page shows about one model."""

    name: str
    aliases: dict[str, str]
    versions: list[VersionRow]
    moves: list[AliasMove]
    runs: list[RunRecord]
    checks: list[CheckRecord] = field(default_factory=list)
    rollout: Rollout | None = None
    rollout_events: list[RolloutEvent] = field(default_factory=list)
    rollout_window: dict[str, Any] | None = None
    """While the rollout runs, the figures its next check will judge (``rollout_view``)."""
    distributions: list[Distribution] = field(default_factory=list)
    """The latest check's features (drifted first, then by name), all or the first few."""
    hidden_distributions: int = 0
    earlier_moves: bool = False
    """Whether older alias moves exist than the ``moves`` shown (newest first)."""
    """How many more features the latest check has than ``distributions`` shows."""

    @property
    def latest_check(self) -> CheckRecord | None:
        """The newest monitor check, whose drift summary the page shows inline."""
        return self.checks[0] if self.checks else None

    @property
    def drift_points(self) -> list[tuple[str, float]]:
        """(checked at, share of drifted features) per check that measured drift, oldest first."""
        points = [
            (check.checked_at, float(check.summary["drift_share"]))
            for check in self.checks
            if isinstance(check.summary.get("drift_share"), int | float)
        ]
        return list(reversed(points))

    @property
    def performance_points(self) -> tuple[str, list[tuple[str, float]]]:
        """The labelled-performance metric and its value per check (feedback labels), oldest
        first; checks without labels are left out."""
        metric, points = "", []
        for check in reversed(self.checks):
            performance = check.summary.get("performance")
            if isinstance(performance, dict) and isinstance(
                performance.get("current"), int | float
            ):
                metric = str(performance.get("metric", ""))
                points.append((check.checked_at, float(performance["current"])))
        return metric, points


def models_overview(registry: Registry) -> list[ModelRow]:
    """Every model with its aliases, latest version, last run and last drift check."""
    store = RunStore(registry.catalog)
    summaries = _summaries(registry)
    last_runs, last_checks = store.last_runs(), store.last_checks()
    rows = []
    for name, (latest, count, updated, aliases) in summaries.items():
        pointed = {alias: aliases[alias] for alias in sorted(aliases)}
        rows.append(
            ModelRow(
                name=name,
                aliases={alias: target for alias, (target, _) in pointed.items()},
                alias_created={alias: created for alias, (_, created) in pointed.items()},
                latest=str(latest),
                versions=count,
                updated_at=updated,
                last_run=last_runs.get(name),
                last_check=last_checks.get(name),
            )
        )
    return rows


Aliases = dict[str, tuple[str, str]]
"""alias -> (version, when that version was registered)"""


def _summaries(registry: Registry) -> dict[str, tuple[Version, int, str, Aliases]]:
    """Per model: latest version, count, when the latest was registered, and aliases with the
    registration time of the version each points to.

    ``Registry.list_models`` parses every version's metadata; the Models page needs none of it,
    and with thousands of versions that parsing is most of the page's time. Each model's latest
    version is one seek backwards in the version-order index, its count a count of that index's
    entries: no query reads every version (a GROUP BY over all of them did).
    """
    rows, models = tables.versions.c, tables.models.c
    other, counted = tables.versions.alias("newest").c, tables.versions.alias("counted").c
    newest = (
        select(other.version)
        .where(other.model_name == models.name)
        .order_by(other.major.desc(), other.minor.desc(), other.patch.desc())
        .limit(1)
        .scalar_subquery()
    )
    count = select(func.count()).where(counted.model_name == rows.model_name).scalar_subquery()
    query = select(rows.model_name, rows.major, rows.minor, rows.patch, rows.created_at, count)
    query = query.where(tuple_(rows.model_name, rows.version).in_(select(models.name, newest)))
    found: dict[str, tuple[Version, int, str, Aliases]] = {}
    with registry.catalog.reading() as session:
        for name, major, minor, patch, created, count in session.connection.execute(query):
            found[name] = (Version(major, minor, patch), count, created, {})
        pointers = tables.aliases.c
        moved = select(pointers.model_name, pointers.alias, pointers.version, rows.created_at).join(
            tables.versions,
            (rows.model_name == pointers.model_name) & (rows.version == pointers.version),
        )
        for name, alias, version, created in session.connection.execute(moved):
            if name in found:
                found[name][3][alias] = (version, created)
    return dict(sorted(found.items()))


def model_detail(registry: Registry, name: str, all_features: bool = False) -> ModelDetail:
    """One model's versions (newest first), alias history, runs and drift checks, with the
    latest check's per-feature distributions (the first few, or all of them)."""
    versions = registry.list_versions(name)  # NotFound for an unknown model
    store = RunStore(registry.catalog)
    aliases: dict[str, str] = {}
    for version in versions:
        aliases.update({alias: version.version for alias in version.aliases})
    checks = store.checks(name, limit=RECENT_CHECKS)
    moves = registry.alias_history(name, newest=RECENT_MOVES + 1)  # one more: are there more?
    plots = _distributions(store, checks[0].id if checks else None)
    shown = plots if all_features else plots[:SHOWN_DISTRIBUTIONS]
    return ModelDetail(
        name=name,
        aliases=dict(sorted(aliases.items())),
        versions=[version_row(version) for version in reversed(versions)],
        moves=list(reversed(moves))[:RECENT_MOVES],
        earlier_moves=len(moves) > RECENT_MOVES,
        runs=store.recent(name, limit=RECENT_RUNS),
        checks=checks,
        distributions=shown,
        hidden_distributions=len(plots) - len(shown),
        **_rollout(registry, name),
    )


def _distributions(store: RunStore, check_id: int | None) -> list[Distribution]:
    """One check's feature distributions, drifted first: only the check the page shows is read."""
    if check_id is None:
        return []
    found = [Distribution.from_dict(entry) for entry in store.distributions(check_id)]
    return sorted(found, key=lambda plot: (not plot.drifted, plot.name))


def _rollout(registry: Registry, name: str) -> dict[str, Any]:
    """The model's newest rollout and its events (newest first), or nothing if it never had one."""
    rollouts = Rollouts(registry)
    try:
        rollout = rollouts.get(name)
    except NotFound:
        return {}
    events = [event for event in rollouts.history(name) if event.rollout_id == rollout.id]
    found = {"rollout": rollout, "rollout_events": events[::-1][:RECENT_ROLLOUT_EVENTS]}
    if rollout.running:  # imported here: the window's figures bring numpy to the page
        from ferry.serving.rollout_view import current_window

        found["rollout_window"] = current_window(rollouts, rollout)
    return found


def version_row(version: ModelVersion) -> VersionRow:
    """The columns of one version, parsed from its metadata."""
    metadata = version.metadata
    dataset = metadata.get("training_dataset") or {}
    outputs = metadata.get("output_schema") or {}
    return VersionRow(
        version=version.version,
        created_at=version.created_at,
        aliases=version.aliases,
        metrics={k: float(v) for k, v in sorted((metadata.get("performance") or {}).items())},
        parent=metadata.get("parent_version"),
        dataset=_dataset(dataset),
        flavor=str(metadata.get("flavor", "")),
        task=task_of(outputs) if outputs else "",
        size_bytes=sum(int(entry.get("bytes", 0)) for entry in metadata.get("artifacts", [])),
    )


def _dataset(dataset: dict[str, Any]) -> str:
    """``name (rows rows, sha256 abcdef12)`` or what of it is known."""
    if not dataset:
        return ""
    parts = [str(dataset.get("name") or "data")]
    if dataset.get("rows") is not None:
        parts.append(f"{dataset['rows']} rows")
    if dataset.get("sha256"):
        parts.append(f"sha256 {str(dataset['sha256'])[:8]}")
    return ", ".join(parts)
