"""``ferry predict`` carries ids into its output and refuses ambiguous files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.pipeline import Pipeline, make_pipeline
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


def test_a_clusterer_scores_cluster_ids_with_a_confidence_in_0_1(
    home: Path, customers: pd.DataFrame, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), KMeans(3, n_init=2, random_state=0)).fit(cancer[0])
    with Registry(home=home / "home") as registry:
        registry.register(model, "segments", input_example=cancer[0].head(3))
    source = home / "customers.csv"
    customers.to_csv(source, index=False)
    target = home / "segments.csv"
    done = CliRunner().invoke(app, ["predict", "segments", "-i", str(source), "-o", str(target)])
    assert done.exit_code == 0, done.stderr
    scored = pd.read_csv(target)
    features = customers[list(cancer[0].columns)]
    assert scored["prediction"].tolist() == model.predict(features).tolist()
    assert scored["confidence"].between(0, 1).all()


def test_a_text_model_scores_one_prediction_per_text(home: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = pd.Series(["great", "awful", "love it", "broke"], name="review")
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, [1, 0, 1, 0])
    with Registry(home=home / "home") as registry:
        registry.register(model, "reviews", input_example=texts)
    source = home / "reviews.csv"
    pd.DataFrame({"id": [1, 2, 3], "review": ["great stuff", "it broke", "awful"]}).to_csv(
        source, index=False
    )
    target = home / "scored.csv"
    done = CliRunner().invoke(app, ["predict", "reviews", "-i", str(source), "-o", str(target)])
    assert done.exit_code == 0, done.stderr
    scored = pd.read_csv(target)
    assert (
        scored["prediction"].tolist()
        == model.predict(["great stuff", "it broke", "awful"]).tolist()
    )
    assert scored["id"].tolist() == [1, 2, 3]


def test_a_transformer_scores_one_vector_per_row(
    home: Path, customers: pd.DataFrame, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.decomposition import TruncatedSVD

    model = TruncatedSVD(2, random_state=0).fit(cancer[0])
    with Registry(home=home / "home") as registry:
        registry.register(model, "embeddings", input_example=cancer[0].head(3))
    source = home / "customers.parquet"
    customers.to_parquet(source)
    target = home / "vectors.parquet"
    done = CliRunner().invoke(app, ["predict", "embeddings", "-i", str(source), "-o", str(target)])
    assert done.exit_code == 0, done.stderr
    scored = pd.read_parquet(target)
    expected = model.transform(customers[list(cancer[0].columns)])
    assert len(scored) == len(customers) and "confidence" not in scored.columns
    vectors = np.array([list(vector) for vector in scored["prediction"]])
    np.testing.assert_allclose(vectors, expected, rtol=1e-9)
