"""``ferry predict`` (batch scoring) and ``ferry serve`` argument errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferry.cli.main import app


@pytest.fixture
def home(tmp_path, monkeypatch, pipeline, cancer):
    from ferry import Registry

    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
    return tmp_path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_scores_a_file(home, pipeline, cancer, suffix):
    frame = cancer[0].head(120).assign(customer_id=range(120))
    source = home / f"input{suffix}"
    frame.to_csv(source, index=False) if suffix == ".csv" else frame.to_parquet(source)
    target = home / "out.parquet"
    result = CliRunner().invoke(
        app,
        [
            "predict",
            "cancer@production",
            "-i",
            str(source),
            "-o",
            str(target),
            "--chunk-rows",
            "50",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "wrote 120 predictions" in result.stdout
    scored = pd.read_parquet(target)
    assert scored["prediction"].tolist() == pipeline.predict(cancer[0].head(120)).tolist()
    np.testing.assert_allclose(
        scored["confidence"], pipeline.predict_proba(cancer[0].head(120)).max(axis=1)
    )
    assert set(scored["model_version"]) == {"1.0.0"}


def test_predict_names_a_missing_column(home, cancer):
    source = home / "input.csv"
    cancer[0].drop(columns=["mean area"]).head(5).to_csv(source, index=False)
    result = CliRunner().invoke(
        app, ["predict", "cancer", "-i", str(source), "-o", str(home / "o.csv")]
    )
    assert result.exit_code == 1
    assert result.stderr == "error: input.csv has no column 'mean area', which cancer:1.0.0 needs\n"


def test_serve_without_a_model_says_how_to_name_one(home, monkeypatch):
    monkeypatch.delenv("FERRY_MODEL", raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "no model to serve: pass REF arguments or set FERRY_MODEL" in result.stderr


def test_serve_refuses_bad_settings(home, monkeypatch):
    monkeypatch.setenv("FERRY_LOAD", "sometimes")
    result = CliRunner().invoke(app, ["serve", "cancer@production"])
    assert result.exit_code == 1
    assert "FERRY_LOAD='sometimes': choose one of eager, lazy" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FERRY_MAX_MODEL_AGE", "sometimes", "FERRY_MAX_MODEL_AGE='sometimes': choose one of"),
        ("FERRY_MAX_MODEL_AGE_DAYS", "0", "FERRY_MAX_MODEL_AGE_DAYS must be more than 0"),
        ("FERRY_MAX_MODEL_AGE_DAYS", "a month", "FERRY_MAX_MODEL_AGE_DAYS='a month' is not"),
    ],
)
def test_serve_refuses_bad_age_settings(home, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["serve", "cancer@production"])
    assert result.exit_code == 1
    assert message in result.stderr


@pytest.mark.parametrize("token", ["", "  "])
def test_serve_refuses_an_empty_api_token(home, monkeypatch, token):
    monkeypatch.setenv("FERRY_API_TOKEN", token)
    result = CliRunner().invoke(app, ["serve", "cancer@production"])
    assert result.exit_code == 1
    assert "FERRY_API_TOKEN is set but empty" in result.stderr


def test_compile_prepares_the_cache_a_server_then_hits(home):
    result = CliRunner().invoke(app, ["compile", "cancer@production", "--json"])
    assert result.exit_code == 0, result.stderr
    import json

    (prepared,) = json.loads(result.stdout)
    assert prepared["reference"] == "cancer:1.0.0" and prepared["backend"] == "onnx"
    from ferry import Registry
    from ferry.config import ServingSettings
    from ferry.serving.cache import ModelCache
    from ferry.serving.loader import ModelLoader

    with Registry(home=home / "home") as registry:
        loader = ModelLoader(
            registry, ModelCache(home / "home" / "cache"), ServingSettings(models=("x",))
        )
        assert loader.load(registry.resolve("cancer@production")).cache_hit


def test_compile_names_a_missing_model(home):
    result = CliRunner().invoke(app, ["compile", "ghost@production"])
    assert result.exit_code == 1 and "no alias 'production' on model 'ghost'" in result.stderr
