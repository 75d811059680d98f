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
from ferry.serving.compile import compile_key
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
    answer = second.runner.run(first.example)
    labels, probabilities = answer.predictions, answer.probabilities
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


def test_a_compiled_file_copied_from_another_version_is_never_served(
    loader, cancer_registry, pipeline, forest, cancer
):
    cancer_registry.register(forest, "cancer", input_example=cancer[0])
    old, new = (cancer_registry.resolve(f"cancer:{v}") for v in ("1.0.0", "1.1.0"))
    loader.load(old)
    loader.load(new)
    compiled = loader.cache.root / "compiled"
    old_key, new_key = (
        next(p.stem for p in compiled.glob("*.json") if json.loads(p.read_text())["model"] == ref)
        for ref in ("cancer:1.0.0", "cancer:1.1.0")
    )
    # The attack: 1.1.0's compiled graph over 1.0.0's entry, and its sha256 into 1.0.0's record.
    (compiled / f"{old_key}.onnx").write_bytes((compiled / f"{new_key}.onnx").read_bytes())
    record = json.loads((compiled / f"{old_key}.json").read_text())
    record["sha256"] = json.loads((compiled / f"{new_key}.json").read_text())["sha256"]
    (compiled / f"{old_key}.json").write_text(json.dumps(record))
    served = loader.load(old)
    assert not served.cache_hit and served.runner.backend == "onnx"
    rows = cancer[0].to_numpy()
    answer = served.runner.run(rows)
    labels, probabilities = answer.predictions, answer.probabilities
    np.testing.assert_array_equal(labels, pipeline.predict(cancer[0]))
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(cancer[0]), atol=1e-5)
    assert not np.allclose(probabilities, forest.predict_proba(cancer[0]), atol=1e-3)
    # ... and the whole record copied too is refused by the record's own source hash.
    (compiled / f"{old_key}.json").write_text((compiled / f"{new_key}.json").read_text())
    (compiled / f"{old_key}.onnx").write_bytes((compiled / f"{new_key}.onnx").read_bytes())
    again = loader.load(old)
    assert not again.cache_hit
    np.testing.assert_array_equal(again.runner.run(rows).predictions, pipeline.predict(cancer[0]))
    assert loader.load(old).cache_hit  # the recompiled entry is trusted again


def test_a_cache_that_cannot_be_written_costs_a_recompile_not_the_load(
    loader, cancer_registry, caplog
):
    version = cancer_registry.resolve("cancer@production")
    model_sha = next(
        a["sha256"] for a in version.metadata["artifacts"] if a["file"] == "model.skops"
    )
    # Paths the cache must write are folders: every write fails, as in a read-only bundle.
    (loader.cache.root / "artifacts" / model_sha).mkdir()
    (loader.cache.root / "compiled" / f"{compile_key(model_sha)}.onnx").mkdir()
    (loader.cache.root / "compiled" / f"{compile_key(model_sha)}.json").mkdir()
    for _ in range(2):
        loaded = loader.load(version)
        assert loaded.runner.backend == "onnx" and not loaded.cache_hit
    assert "serving without caching it" in caplog.text


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


def test_categorical_inputs_are_compiled_with_one_input_per_column(loader, cancer_registry):
    frame = pd.DataFrame({"plan": ["a", "b", "a", "c"] * 5, "usage": np.arange(20.0)})
    target = [0, 1, 0, 1] * 5
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(
        frame[["plan"]], target
    )
    version = cancer_registry.register(model, "plans", input_example=frame[["plan"]])
    loaded = loader.load(version)
    assert loaded.runner.backend == "onnx", loaded.compile_note
    answer = loaded.runner.run(np.array([["b"], ["a"], ["unseen"]], dtype=object))
    assert answer.predictions.tolist() == [1, 0, model.predict(pd.DataFrame({"plan": ["z"]}))[0]]
    np.testing.assert_allclose(
        answer.probabilities,
        model.predict_proba(pd.DataFrame({"plan": ["b", "a", "unseen"]})),
        atol=1e-6,
    )


def test_onnx_served_process_never_imports_sklearn(loader, cancer_registry):
    loader.load(cancer_registry.resolve("cancer@production"))
    script = f"""
import sys
from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.compile import compile_key
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


def test_onnx_zipmap_probabilities_are_served_by_onnxruntime_as_arrays(
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
    assert loaded.runner.backend == "onnx" and loaded.compile_note is None
    answer = loaded.runner.run(features[:4].astype(np.float64))
    labels, probabilities = answer.predictions, answer.probabilities
    np.testing.assert_array_equal(labels, model.predict(features[:4]))
    np.testing.assert_allclose(probabilities, model.predict_proba(features[:4]), atol=1e-4)
