"""Slimmed tree ensembles: smaller compiled files whose every answer is bit for bit the same."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.compile import to_onnx_bytes
from ferry.serving.loader import ModelLoader
from ferry.serving.runners import onnx_session
from ferry.serving.slim import slim


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    features, target = load_digits(return_X_y=True)
    return features.astype(np.float32), target


def _unslimmed(model: object, rows: np.ndarray) -> bytes:
    """The graph as onnxruntime optimises it, before slimming."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "optimised.onnx"
        onnx_session(to_onnx_bytes("sklearn", model, rows), optimized_path=str(target))
        return target.read_bytes()


def _ensemble(graph: bytes) -> dict[str, onnx.AttributeProto]:
    node = next(n for n in onnx.load_from_string(graph).graph.node if n.op_type.startswith("Tree"))
    return {attribute.name: attribute for attribute in node.attribute}


def _answers(graph: bytes, rows: np.ndarray) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    return [np.asarray(out) for out in session.run(None, {session.get_inputs()[0].name: rows})]


def _rows(digits: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Every digit, and as many random rows well outside the training range."""
    noise = np.random.default_rng(0).uniform(-5, 25, (2000, 64)).astype(np.float32)
    return np.vstack([digits[0], noise])


def test_a_multiclass_forest_is_served_from_a_slimmed_graph_with_the_same_answers(
    sqlite_registry, tmp_path, digits
):
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(*digits)
    sqlite_registry.register(forest, "digits", input_example=digits[0][:5])
    loader = ModelLoader(sqlite_registry, ModelCache(tmp_path / "cache"), ServingSettings(("x",)))
    loaded = loader.load(sqlite_registry.resolve("digits"))
    assert loaded.runner.backend == "onnx", loaded.compile_note
    compiled = next((tmp_path / "cache" / "compiled").glob("*-slim.onnx")).read_bytes()
    before, after = _ensemble(_unslimmed(forest, digits[0])), _ensemble(compiled)
    assert 0.0 in before["class_weights"].floats and 0.0 not in after["class_weights"].floats
    assert len(after["class_weights"].floats) == len(after["class_ids"].ints)
    assert "nodes_hitrates" in before and "nodes_hitrates" not in after
    rows = _rows(digits)
    for got, expected in zip(
        _answers(compiled, rows), _answers(_unslimmed(forest, digits[0]), rows), strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.runner.run(rows).predictions, forest.predict(rows))


def test_a_binary_forest_keeps_its_class_weights(forest, cancer):
    rows = cancer[0].to_numpy(np.float32)
    graph = _unslimmed(forest, rows)
    slimmed = slim(onnx.load_from_string(graph)).SerializeToString()
    before, after = _ensemble(graph), _ensemble(slimmed)
    assert after["class_weights"].floats == before["class_weights"].floats
    assert "nodes_hitrates" not in after
    for got, expected in zip(_answers(slimmed, rows), _answers(graph, rows), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_negative_class_weights_are_kept(digits):
    features, target = digits[0][:600], digits[1][:600] % 3
    boosted = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(features, target)
    graph = _unslimmed(boosted, features)
    before = _ensemble(graph)
    assert min(before["class_weights"].floats) < 0
    after = _ensemble(slim(onnx.load_from_string(graph)).SerializeToString())
    assert after["class_weights"].floats == before["class_weights"].floats
