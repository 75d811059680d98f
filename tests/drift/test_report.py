"""The report: the JSON contract, standard JSON, and a self-contained HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry.drift import DriftDetector, DriftReport

Frames = tuple[pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="module")
def report(frames_10k: Frames) -> DriftReport:
    reference, current = frames_10k
    return DriftDetector().fit(reference).check(current)


def test_json_contract(report: DriftReport) -> None:
    data = json.loads(report.to_json())
    assert isinstance(data["drift"], bool) and isinstance(data["drift_share"], float)
    assert len(data["features"]) == 25
    for feature in data["features"]:
        assert {
            "name",
            "type",
            "test",
            "statistic",
            "p_value",
            "threshold",
            "drifted",
            "stats",
        } <= set(feature)
        names = {
            "numeric": {"ks", "wasserstein", "psi", "mean_shift"},
            "categorical": {"chi2", "psi", "jensen_shannon"},
        }
        assert names[feature["type"]] <= set(feature["stats"])
        assert "statistic" in feature["stats"]["psi"]
        assert "p_value" in feature["stats"][feature["test"]]


def test_to_json_writes_a_file(report: DriftReport, tmp_path: Path) -> None:
    text = report.to_json(tmp_path / "report.json")
    assert (tmp_path / "report.json").read_text() == text + "\n"


def test_drifted_features_are_ranked_by_effect(report: DriftReport) -> None:
    effects = [feature.effect for feature in report.drifted_features]
    assert effects == sorted(effects, reverse=True)
    assert report.drifted_features[0].name == "strong"


def test_html_names_every_feature_and_loads_nothing(report: DriftReport, tmp_path: Path) -> None:
    page = report.to_html(tmp_path / "report.html").read_text()
    for feature in report.features:
        assert f">{feature.name} <" in page
    assert "://" not in page
    assert not re.search(r"\b(src|href)\s*=|url\(|@import|<script|<link|<img", page, re.I)
    assert page.count("<svg") == 25
    assert "Drift detected" in page


def test_html_escapes_column_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"<script>alert(1)</script>": rng.normal(size=100)})
    page = DriftDetector().fit(frame).check(frame).to_html(tmp_path / "r.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No drift" in page
