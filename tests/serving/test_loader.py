"""The loader: fetch into the cache, compile to ONNX or fall back, validate the cache on use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader


@pytest.fixture
def loader(tmp_path, cancer_registry):
    return ModelLoader(
        cancer_registry,
        ModelCache(tmp_path / "cache"),
        ServingSettings(models=("x",), warmup_iterations=4),
    )


def test_first_load_compiles_and_the_second_hits_the_cache(
    loader, cancer_registry, pipeline, cancer
):
    version = cancer_registry.resolve("cancer@production")
    first = loader.load(version)
    assert first.runner.backend == "onnx" and not first.cache_hit
    assert len(first.warmup_ms) == 4
    second = loader.load(version)
    assert second.cache_hit and second.runner.backend == "onnx"
    labels, probabilities = second.runner.run(first.example)
    np.testing.assert_array_equal(labels, pipeline.predict(cancer[0].head(10)))
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(cancer[0].head(10)), atol=1e-5)


def test_a_tampered_cache_entry_is_not_used(loader, cancer_registry):
    version = cancer_registry.resolve("cancer@production")
    loader.load(version)
    for compiled in (loader.cache.root / "compiled").glob("*.onnx"):
        compiled.write_bytes(b"garbage")
    for artifact in (loader.cache.root / "artifacts").iterdir():
        artifact.write_bytes(b"garbage")
    again = loader.load(version)
    assert not again.cache_hit and again.runner.backend == "onnx"


def test_models_that_do_not_convert_are_served_natively(loader, cancer_registry, cancer):
    X, y = cancer
    model = NearestCentroid().fit(X, y)
    version = cancer_registry.register(model, "centroid", input_example=X.head(3))
    loaded = loader.load(version)
    assert loaded.runner.backend == "native"
    assert loaded.compile_note.startswith("cannot convert to ONNX")
    record = json.loads(next((loader.cache.root / "compiled").glob("*.json")).read_text())
    assert record["agrees"] is False
    assert loader.load(version).runner.backend == "native"


def test_categorical_inputs_are_served_natively(loader, cancer_registry):
    frame = pd.DataFrame({"plan": ["a", "b", "a", "c"] * 5, "usage": np.arange(20.0)})
    target = [0, 1, 0, 1] * 5
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(
        frame[["plan"]], target
    )
    version = cancer_registry.register(model, "plans", input_example=frame[["plan"]])
    loaded = loader.load(version)
    assert loaded.runner.backend == "native"
    labels, _ = loaded.runner.run(np.array([["b"], ["a"]], dtype=object))
    assert labels.tolist() == [1, 0]


def test_onnx_served_process_never_imports_sklearn(loader, cancer_registry):
    loader.load(cancer_registry.resolve("cancer@production"))
    script = f"""
import sys
from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
registry = Registry(home={str(cancer_registry.settings.home)!r})
loader = ModelLoader(registry, ModelCache(__import__("pathlib").Path({str(loader.cache.root)!r})), ServingSettings(models=("x",)))
loaded = loader.load(registry.resolve("cancer@production"))
assert loaded.cache_hit and loaded.runner.backend == "onnx", loaded
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "skops", "skl2onnx")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_onnx_models_the_fast_runner_cannot_feed_fall_back_to_their_own_predictor(
    loader, cancer_registry, cancer
):
    from skl2onnx import to_onnx

    X, y = cancer
    features = X.to_numpy(dtype=np.float32)
    model = LogisticRegression(max_iter=3000).fit(features, y)
    version = cancer_registry.register(
        to_onnx(model, features[:1]), "zipped", input_example=features[:3]
    )
    loaded = loader.load(version)
    assert loaded.runner.backend == "native" and loaded.compile_note
    labels, probabilities = loaded.runner.run(features[:4].astype(np.float64))
    np.testing.assert_array_equal(labels, model.predict(features[:4]))
    np.testing.assert_allclose(probabilities, model.predict_proba(features[:4]), atol=1e-4)
