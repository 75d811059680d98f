"""pandas, polars and numpy tables are taken alike by register, predict, training_data and drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ferry import InvalidInput, Registry
from ferry.drift import DriftDetector
from ferry.frames import as_frame, to_pandas

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "income", "tenure"])
    y = (X["age"] + X["income"] > 0).to_numpy().astype(int)
    return X, y


def test_polars_keeps_its_column_names_through_register_and_predict(
    data: tuple[pd.DataFrame, np.ndarray], sqlite_registry: Registry
) -> None:
    X, y = data
    frame = pl.from_pandas(X)
    model = LogisticRegression().fit(X, y)

    created = sqlite_registry.register(model, "churn", input_example=frame, training_data=frame)

    columns = created.metadata["input_schema"]["columns"]
    assert [c["name"] for c in columns] == ["age", "income", "tenure"]
    assert created.metadata["training_dataset"]["columns"] == ["age", "income", "tenure"]
    same = sqlite_registry.register(model, "churn", input_example=X, training_data=X)
    assert (
        same.metadata["training_dataset"]["sha256"]
        == (created.metadata["training_dataset"]["sha256"])
    )
    loaded = sqlite_registry.load("churn")
    expected = model.predict(X)
    np.testing.assert_array_equal(loaded.predict(frame), expected)
    np.testing.assert_array_equal(loaded.predict(X.to_numpy()), expected)  # names given back
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(X))


def test_a_bare_array_of_the_wrong_width_is_named(
    data: tuple[pd.DataFrame, np.ndarray], sqlite_registry: Registry
) -> None:
    X, y = data
    sqlite_registry.register(LogisticRegression().fit(X, y), "churn", input_example=X)

    with pytest.raises(InvalidInput, match=r"3 columns \['age', 'income', 'tenure'\]"):
        sqlite_registry.load("churn").predict(np.zeros((2, 5)))


def test_drift_takes_polars_and_numpy(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, _ = data
    shifted = X + 3.0

    from_polars = DriftDetector().fit(pl.from_pandas(X)).check(pl.from_pandas(shifted))
    from_numpy = DriftDetector().fit(X.to_numpy()).check(shifted.to_numpy())

    assert [f.name for f in from_polars.features] == ["age", "income", "tenure"]
    assert [f.name for f in from_numpy.features] == ["0", "1", "2"]
    assert from_polars.dataset_drift and from_numpy.dataset_drift
    predictions = pl.Series("score", np.arange(len(X)) % 2)
    report = DriftDetector().fit(X, predictions=predictions).check(X, predictions=predictions)
    assert report.prediction is not None


def test_conversions() -> None:
    lazy = pl.DataFrame({"a": [1, 2]}).lazy()

    assert list(to_pandas(lazy).columns) == ["a"]
    assert list(as_frame(pl.Series("b", [1.0]), "current").columns) == ["b"]
    assert list(as_frame(np.arange(3.0), "current").columns) == ["0"]
    with pytest.raises(InvalidInput, match="2-D array, got 3 dimensions"):
        as_frame(np.zeros((1, 1, 1)), "current")
