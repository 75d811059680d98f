from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from ferry import InvalidInput
from ferry.errors import Unsupported


@pytest.mark.parametrize(
    ("serialization", "file"), [("joblib", "model.joblib"), ("pickle", "model.pkl")]
)
def test_opt_in_serializations_round_trip(sqlite_registry, forest, cancer, serialization, file):
    X, _ = cancer
    version = sqlite_registry.register(forest, "rf", input_example=X, serialization=serialization)
    assert version.metadata["serialization"] == serialization
    assert [a["file"] for a in version.metadata["artifacts"]] == ["input_example.json", file]
    np.testing.assert_array_equal(sqlite_registry.load("rf").predict(X), forest.predict(X))


def test_skops_records_exactly_the_types_it_must_trust(sqlite_registry, forest, cancer):
    version = sqlite_registry.register(forest, "rf", input_example=cancer[0])
    assert version.metadata["loader"]["trusted_types"] == ["sklearn.tree._tree.Tree"]


def test_unknown_serialization_is_refused(sqlite_registry, forest, cancer):
    with pytest.raises(InvalidInput, match="unknown serialization 'cloudpickle'"):
        sqlite_registry.register(forest, "rf", input_example=cancer[0], serialization="cloudpickle")


TEXTS = ["great, works", "awful and broke", "love it", "slow support", "great value", "broke"]
SENTIMENT = ["pos", "neg", "pos", "neg", "pos", "neg"]


@pytest.fixture(scope="module")
def text_pipeline():
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, SENTIMENT)


@pytest.mark.parametrize(
    "example",
    [pd.Series(TEXTS, name="text"), pd.DataFrame({"text": TEXTS}), TEXTS, TEXTS[:1]],
    ids=["series", "one-text-column", "list-of-strings", "one-row"],
)
def test_a_text_model_answers_one_prediction_per_text(sqlite_registry, text_pipeline, example):
    version = sqlite_registry.register(text_pipeline, "reviews", input_example=example)
    assert version.metadata["input_schema"]["series"] is True
    assert [c["name"] for c in version.metadata["input_schema"]["columns"]] == ["text"]
    frame = pd.DataFrame({"text": ["great", "awful", "slow and broke"]})
    loaded = sqlite_registry.load("reviews")
    expected = text_pipeline.predict(frame["text"]).tolist()
    assert loaded.predict(frame).tolist() == expected
    assert loaded.predict(frame["text"]).tolist() == expected
    assert loaded.predict(list(frame["text"])).tolist() == expected
    assert loaded.predict_proba(frame).shape == (3, 2)


def test_a_model_answering_fewer_rows_than_it_is_given_is_refused(sqlite_registry, text_pipeline):
    two_columns = pd.DataFrame({"title": TEXTS, "body": TEXTS})
    with pytest.raises(
        InvalidInput, match=r"answered 2 rows for the 6 rows .* one row out per row"
    ):
        sqlite_registry.register(text_pipeline, "reviews", input_example=two_columns)
    assert sqlite_registry.list_models() == []


def test_a_clusterer_that_cannot_predict_new_rows_is_refused_naming_it(sqlite_registry, cancer):
    model = DBSCAN().fit(cancer[0])
    with pytest.raises(Unsupported, match=r"cannot serve a sklearn\.cluster\._dbscan\.DBSCAN"):
        sqlite_registry.register(model, "segments", input_example=cancer[0].head(3))
    assert sqlite_registry.list_models() == []
