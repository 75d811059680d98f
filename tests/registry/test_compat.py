"""Recorded library versions against installed ones: the comparison every loader uses."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx

from ferry import CompatibilityError, CompatibilityWarning
from ferry.errors import InvalidInput
from ferry.flavors.base import installed_version
from ferry.registry.compat import check, compare, supported_opsets

NUMPY = installed_version("numpy")


def _older(version: str) -> str:
    """The same library one minor release back (``2.4.6`` -> ``2.3.6``), as an older image."""
    major, minor, *rest = version.split(".")
    return ".".join([major, str(int(minor) - 1) if int(minor) else "99", *rest])


def test_a_model_saved_with_another_numpy_minor_warns_and_strict_names_both_and_the_fix(
    sqlite_registry, pipeline, cancer, recorded_libraries
):
    sqlite_registry.register(pipeline, "churn", input_example=cancer[0])
    recorded_libraries(sqlite_registry, "churn", {"numpy": _older(NUMPY)})
    both = f"numpy {_older(NUMPY)} recorded, {NUMPY} installed"
    with pytest.warns(CompatibilityWarning, match=both):
        sqlite_registry.load("churn")
    with pytest.raises(CompatibilityError, match=both) as refused:
        sqlite_registry.load("churn", strict=True)
    pin = ".".join(_older(NUMPY).split(".")[:2])
    assert f'pip install "numpy=={pin}.*"' in str(refused.value)
    assert "ferry compile churn:1.0.0" in str(refused.value)


def test_patch_releases_and_same_versions_load_strictly_without_a_word(
    sqlite_registry, pipeline, cancer, recorded_libraries
):
    sqlite_registry.register(pipeline, "churn", input_example=cancer[0])
    major, minor = NUMPY.split(".")[:2]
    recorded_libraries(sqlite_registry, "churn", {"numpy": f"{major}.{minor}.999"})
    loaded = sqlite_registry.load("churn", strict=True)
    report = compare("churn:1.0.0", loaded.metadata)
    assert report.backend == "native" and report.compatible
    assert {row.library: row.verdict for row in report.libraries}["numpy"] == "ok"


def test_a_library_the_model_needs_that_is_not_installed_is_missing(
    sqlite_registry, pipeline, cancer, recorded_libraries
):
    sqlite_registry.register(pipeline, "churn", input_example=cancer[0])
    recorded_libraries(sqlite_registry, "churn", {"xgboost-not-here": "2.1.0"})
    with pytest.raises(CompatibilityError, match="xgboost-not-here 2.1.0 recorded, not installed"):
        sqlite_registry.load("churn", strict=True)


def test_an_onnx_version_checks_its_opsets_not_the_libraries_it_was_saved_with(
    sqlite_registry, cancer, recorded_libraries
):
    X, y = cancer
    features = X.to_numpy(dtype=np.float32)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=3000).fit(features, y)
    sqlite_registry.register(to_onnx(model, features[:1], options={"zipmap": False}), "onnx-m",
                             input_example=features[:3])  # fmt: skip
    recorded_libraries(sqlite_registry, "onnx-m", {"numpy": "1.2.0", "onnx": "1.0.0"})
    loaded = sqlite_registry.load("onnx-m", strict=True)
    rows = {row.library: row for row in compare("onnx-m:1.0.0", loaded.metadata).libraries}
    assert rows["numpy"].verdict == rows["onnx"].verdict == "not needed"
    assert rows["onnxruntime"].verdict == "ok"
    assert rows["opset ai.onnx"].verdict == "ok"
    assert int(rows["opset ai.onnx"].installed or 0) == supported_opsets()["ai.onnx"]


def test_a_graph_newer_than_the_runtime_is_refused_before_onnxruntime_sees_it():
    newest = supported_opsets()["ai.onnx"]
    graph = helper.make_model(
        helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        ),
        opset_imports=[helper.make_opsetid("", newest + 1)],
    )  # fmt: skip
    metadata = {"framework": "onnx", "dependencies": {"onnxruntime": "1.0.0"}}
    data = onnx.ModelProto.SerializeToString(graph)
    with pytest.raises(CompatibilityError, match=f"implements up to {newest}") as refused:
        check("m:1.0.0", metadata, "strict", graph=data)
    assert f"target opset of at most {newest} (ai.onnx)" in str(refused.value)
    warned = check("m:1.0.0", metadata, "warn", graph=data)
    assert not warned.compatible and warned.message() == str(refused.value)


def test_off_compares_nothing_and_unknown_modes_are_refused():
    metadata = {"framework": "scikit-learn", "dependencies": {"numpy": "0.1.0"}}
    report = check("m:1.0.0", metadata, "off")
    assert report.libraries == () and report.compatible and report.message() is None
    with pytest.raises(InvalidInput, match="FERRY_COMPAT='loose': choose one of strict, warn, off"):
        check("m:1.0.0", metadata, "loose")


def test_load_takes_a_ferry_compat_mode_over_strict(
    sqlite_registry, pipeline, cancer, recorded_libraries
):
    sqlite_registry.register(pipeline, "churn", input_example=cancer[0])
    recorded_libraries(sqlite_registry, "churn", {"numpy": _older(NUMPY)})
    assert sqlite_registry.load("churn", strict=True, compat="off").version == "1.0.0"
    with pytest.raises(CompatibilityError):
        sqlite_registry.load("churn", compat="strict")


def test_a_model_exported_to_onnx_needs_only_the_runtime_not_its_training_framework():
    metadata = {
        "framework": "pytorch", "loader": {"file": "model.onnx"},
        "dependencies": {"torch": "2.13.0", "onnxruntime": "1.0.0"},
        "hyperparameters": {"opsets": {"ai.onnx": 17}},
    }  # fmt: skip
    report = check("net:1.0.0", metadata, "strict")
    rows = {row.library: row.verdict for row in report.libraries}
    assert report.backend == "onnx" and report.compatible
    assert rows == {"onnxruntime": "ok", "opset ai.onnx": "ok", "torch": "not needed"}
