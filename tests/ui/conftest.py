"""A registry with history for the dashboard tests: two versions of ``cancer``, alias moves, a
monitor check with drift, and a pipeline file the Train button can run."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ferry import Registry
from ferry.drift import DriftDetector
from ferry.drift.distribution import distributions
from ferry.training.runs import CheckRecord, RunStore

PIPELINE = """
[model]
name = "cancer"
[data]
source = "{source}"
target = "target"
[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = {{ n_estimators = 8, max_depth = 4, random_state = 0 }}
[evaluation]
cv_folds = 2
holdout = 0.3
"""


def _csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, "the page has no form with a CSRF field"
    return found.group(1)


@pytest.fixture
def csrf_of() -> Callable[[str], str]:
    """Reads the CSRF value a rendered form carries."""
    return _csrf_of


@pytest.fixture
def pipeline_file(tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series]) -> Path:
    X, y = cancer
    X.assign(target=y).to_csv(tmp_path / "train.csv", index=False)
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE.format(source=tmp_path / "train.csv"))
    return path


def check(at: str, share: float) -> CheckRecord:
    return CheckRecord(
        model="cancer", pipeline="pipeline.toml", checked_at=at, source="log",
        window_start=None, window_end=None, consumed=True, rows=200, champion_version="1.0.0",
        drift=share > 0.5, performance_drift=None, action="none", run_id=None, status="ok",
        summary={"drift_share": share, "drifted": ["mean radius"] if share else [],
                 "reason": "drift below the threshold",
                 "performance": {"metric": "f1", "baseline": 0.97, "current": 0.97 - share / 10,
                                 "relative_drop": share / 10, "threshold": 0.05,
                                 "drifted": share > 0.5, "rows": 50}},
    )  # fmt: skip


@pytest.fixture
def history(
    tmp_path: Path, pipeline: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]
) -> Iterator[Registry]:
    """``cancer`` 1.0.0 and 1.1.0, production moved 1.0.0 -> 1.1.0, two drift checks."""
    X, y = cancer
    with Registry(home=tmp_path / "home", actor="tester") as registry:
        example = X.head(5)
        registry.register(pipeline, "cancer", input_example=example, metrics={"accuracy": 0.95},
                          training_data=X.assign(target=y))  # fmt: skip
        registry.register(pipeline, "cancer", input_example=example, metrics={"accuracy": 0.97},
                          parent="1.0.0")  # fmt: skip
        registry.set_alias("cancer", "production", "1.0.0", "first")
        registry.set_alias("cancer", "production", "1.1.0", "better")
        store = RunStore(registry.catalog)
        store.add_check(check("2026-03-01T12:00:00+00:00", 0.1))
        store.add_check(check("2026-03-02T12:00:00+00:00", 0.6), latest_distributions(X))
        yield registry


def latest_distributions(X: pd.DataFrame) -> list[dict[str, object]]:
    """What a real drift check of a shifted sample records per feature (30 numeric features)."""
    current = X.sample(200, random_state=0)
    current[list(X.columns[:5])] *= 1.6
    report = DriftDetector().fit(X).check(current)
    return [entry.to_dict() for entry in distributions(report)]
