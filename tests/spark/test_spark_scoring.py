"""ferry.spark.predict and predict_udf answer like Registry.load(ref) on the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from ferry import Registry
from ferry.errors import InvalidInput
from ferry.spark import predict, predict_udf
from ferry.spark.compat import quiet_pandas_warnings

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory,
    pipeline: Pipeline,
    cancer: tuple[pd.DataFrame, pd.Series],
    regressor: tuple[LinearRegression, pd.DataFrame],
) -> Any:
    """One registry for the module: each model is registered and compiled once."""
    with Registry(home=tmp_path_factory.mktemp("spark") / "home") as opened:
        opened.register(pipeline, "churn", input_example=cancer[0].head(20))
        opened.set_alias("churn", "production", "1.0.0")
        model, X = regressor
        opened.register(model, "price", input_example=X.head(20))
        yield opened


def frame_of(spark: Any, data: pd.DataFrame) -> Any:
    with quiet_pandas_warnings():
        return spark.createDataFrame(data)


def collected(df: Any) -> pd.DataFrame:
    with quiet_pandas_warnings():
        return df.toPandas()


def with_ids(features: pd.DataFrame) -> pd.DataFrame:
    frame = features.reset_index(drop=True).copy()
    frame.insert(0, "customer_id", [f"c{index:04d}" for index in range(len(frame))])
    return frame


def test_a_classifier_scores_like_the_registry(
    spark: Any, registry: Registry, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    rows = with_ids(cancer[0].head(120))

    scored = collected(
        predict(frame_of(spark, rows), "churn@production", registry=registry)
    ).sort_values("customer_id")

    loaded = registry.load("churn@production")
    features = cancer[0].head(120)
    assert list(scored.columns) == [*rows.columns, "prediction", "probabilities", "ferry_version"]
    assert scored["customer_id"].tolist() == rows["customer_id"].tolist()
    assert scored["prediction"].tolist() == loaded.predict(features).tolist()
    probabilities = np.vstack(scored["probabilities"].to_numpy())
    np.testing.assert_allclose(probabilities, loaded.predict_proba(features), atol=1e-5)
    assert set(scored["ferry_version"]) == {"1.0.0"}


def test_a_regressor_and_the_udf_agree_with_the_registry(
    spark: Any, registry: Registry, regressor: tuple[LinearRegression, pd.DataFrame]
) -> None:
    _, X = regressor
    rows = with_ids(X.head(80))
    df = frame_of(spark, rows)

    scored = collected(predict(df, "price", registry=registry)).sort_values("customer_id")
    udf = predict_udf("price", spark=spark, registry=registry)
    via_udf = collected(df.select("customer_id", udf(*X.columns).alias("s")))

    expected = registry.load("price").predict(X.head(80))
    np.testing.assert_allclose(scored["prediction"], expected, rtol=1e-4)
    answers = pd.DataFrame(list(via_udf["s"]))
    np.testing.assert_allclose(answers["prediction"], expected, rtol=1e-4)
    assert set(answers["ferry_version"]) == {"1.0.0"}


def test_the_native_fallback_answers_the_same(
    spark: Any, registry: Registry, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    rows = with_ids(cancer[0].head(50))
    one_worker = frame_of(spark, rows).coalesce(1)  # one Python worker imports scikit-learn

    scored = collected(predict(one_worker, "churn", registry=registry, onnx=False))

    loaded = registry.load("churn")
    ordered = scored.sort_values("customer_id")
    assert ordered["prediction"].tolist() == loaded.predict(cancer[0].head(50)).tolist()


def test_a_clusterer_on_an_unnamed_tensor_takes_the_columns_given(
    spark: Any, registry: Registry
) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    model = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X.to_numpy())
    registry.register(model, "segments", input_example=X.to_numpy()[:10])
    df = frame_of(spark, with_ids(X))

    with pytest.raises(InvalidInput, match=r"unnamed tensor: pass columns=\[\.\.\.\]"):
        predict(df, "segments", registry=registry)
    scored = collected(predict(df, "segments", ["a", "b", "c"], registry=registry))

    ordered = scored.sort_values("customer_id")
    expected = registry.load("segments").outputs(X.to_numpy())
    assert ordered["cluster"].tolist() == expected.predictions.tolist()
    np.testing.assert_allclose(ordered["confidence"], expected.confidence, atol=1e-5)
    assert list(scored.columns)[-3:] == ["cluster", "confidence", "ferry_version"]


def test_a_missing_feature_column_is_named(
    spark: Any, registry: Registry, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    rows = cancer[0].head(5).drop(columns=["mean radius"])

    with pytest.raises(InvalidInput, match="mean radius"):
        predict(frame_of(spark, rows), "churn", registry=registry)
