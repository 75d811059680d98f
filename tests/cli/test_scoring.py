"""``ferry predict`` carries ids into its output and refuses ambiguous files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app


@pytest.fixture
def home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pipeline: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> Path:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
    return tmp_path


@pytest.fixture
def customers(home: Path, cancer: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    """Feature columns with an id, a date and a segment around them, as users' files look."""
    features = cancer[0].head(40)
    frame = features.assign(
        customer_id=[f"c{index:03d}" for index in range(40)],
        segment=["retail", "pro"] * 20,
    )
    frame.insert(0, "scored_on", "2026-12-01")
    return frame


def predict(home: Path, source: Path, *args: str, code: int = 0) -> Result:
    target = home / "out.csv"
    result = CliRunner().invoke(
        app, ["predict", "cancer", "-i", str(source), "-o", str(target), *args]
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_every_column_that_is_not_a_feature_is_carried(
    home: Path, customers: pd.DataFrame, pipeline: Pipeline
) -> None:
    source = home / "customers.parquet"
    customers.to_parquet(source)

    predict(home, source)

    scored = pd.read_csv(home / "out.csv")
    assert list(scored.columns) == [
        "scored_on", "customer_id", "segment", "prediction", "confidence", "model_version",
    ]  # fmt: skip
    assert scored["customer_id"].tolist() == customers["customer_id"].tolist()
    features = customers.drop(columns=["scored_on", "customer_id", "segment"])
    assert scored["prediction"].tolist() == pipeline.predict(features).tolist()


def test_keep_carries_only_the_named_columns(home: Path, customers: pd.DataFrame) -> None:
    source = home / "customers.csv"
    customers.to_csv(source, index=False)

    predict(home, source, "--keep", "customer_id", "--keep", "mean radius")

    scored = pd.read_csv(home / "out.csv")
    assert list(scored.columns) == [
        "customer_id", "mean radius", "prediction", "confidence", "model_version",
    ]  # fmt: skip
    assert scored["mean radius"].tolist() == customers["mean radius"].tolist()


def test_keep_naming_a_missing_column_is_an_error(home: Path, customers: pd.DataFrame) -> None:
    source = home / "customers.csv"
    customers.to_csv(source, index=False)
    result = predict(home, source, "--keep", "client_id", code=1)
    assert result.stderr.startswith("error: --keep 'client_id': customers.csv has no such column")
    assert not (home / "out.csv").exists()


def test_an_input_column_named_like_an_output_column_is_refused(
    home: Path, customers: pd.DataFrame
) -> None:
    source = home / "customers.csv"
    customers.assign(prediction=1).to_csv(source, index=False)
    refused = predict(home, source, code=1)
    assert "has a column 'prediction', which the output uses" in refused.stderr
    predict(home, source, "--keep", "customer_id")


def test_a_repeated_csv_header_is_a_clear_error(home: Path, customers: pd.DataFrame) -> None:
    source = home / "customers.csv"
    text = customers.to_csv(index=False)
    header, rest = text.split("\n", 1)
    source.write_text(header.replace("customer_id", "mean radius") + "\n" + rest)

    refused = predict(home, source, code=1)

    assert refused.stderr == (
        "error: customers.csv has repeated column names ['mean radius']: "
        "each column needs a unique name\n"
    )
