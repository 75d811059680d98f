"""Text models whose vectorizer options skl2onnx would not reproduce are refused for ONNX
(served natively, the option named); the others compile."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from ferry.errors import Unsupported
from ferry.flavors.sklearn_onnx import to_onnx_graph

TEXTS = pd.Series(["good and fast", "bad and slow", "good value", "slow, bad"] * 3, name="text")
LABELS = ["pos", "neg", "pos", "neg"] * 3


def _fitted(**options: Any) -> Any:
    return make_pipeline(TfidfVectorizer(**options), LogisticRegression()).fit(TEXTS, LABELS)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"analyzer": "char"}, "analyzer='char'"),
        ({"strip_accents": "unicode"}, "strip_accents='unicode'"),
        ({"token_pattern": r"[a-z]+"}, "token_pattern='[a-z]+'"),
        ({"tokenizer": str.split, "token_pattern": None}, "custom preprocessor or tokenizer"),
        ({"stop_words": ["and"], "ngram_range": (1, 2)}, "stop words with n-grams"),
    ],
)
def test_options_onnx_does_not_reproduce_are_refused_by_name(options, named):
    with pytest.raises(Unsupported, match="served natively") as refused:
        to_onnx_graph(_fitted(**options), TEXTS)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "options",
    [{}, {"token_pattern": r"(?u)\b\w+\b"}, {"stop_words": ["and"]}, {"lowercase": False}],
)
def test_word_patterns_and_unigram_stop_words_compile(options):
    assert to_onnx_graph(_fitted(**options), TEXTS)[:2]


def test_a_text_model_must_start_with_a_vectorizer():
    model = make_pipeline(CountVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)
    assert to_onnx_graph(model, TEXTS)
    with pytest.raises(Unsupported, match="starts with a LogisticRegression"):
        to_onnx_graph(LogisticRegression(), TEXTS)
