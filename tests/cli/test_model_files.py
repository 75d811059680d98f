"""``ferry register outside.skops``: only skops' default types are trusted, --trust adds more."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from click.testing import Result
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app

TREE = "sklearn.tree._tree.Tree"


def ferry(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def forest_file(tmp_path: Path, forest: RandomForestClassifier) -> Path:
    skops.io.dump(forest, tmp_path / "outside.skops")
    return tmp_path / "outside.skops"


def test_a_tree_in_an_outside_file_is_refused_naming_the_type(
    home: Path, forest_file: Path
) -> None:
    refused = ferry("register", str(forest_file), "--name", "churn", code=1)
    assert f"types that skops does not trust by default: ['{TREE}']" in refused.stderr
    assert f"--trust {TREE}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert json.loads(ferry("models", "list", "--json").stdout) == []


def test_trust_names_the_type_and_the_version_loads(
    home: Path,
    forest_file: Path,
    forest: RandomForestClassifier,
    cancer: tuple[pd.DataFrame, pd.Series],
) -> None:
    out = ferry("register", str(forest_file), "--name", "churn", "--trust", TREE, "--json")
    assert json.loads(out.stdout)["version"] == "1.0.0"
    X, _ = cancer
    loaded = Registry(home).load("churn:1.0.0")
    np.testing.assert_array_equal(loaded.predict(X.head(50)), forest.predict(X.head(50)))


def test_every_untrusted_type_needs_its_own_trust(
    tmp_path: Path, home: Path, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = cancer
    model: Pipeline = make_pipeline(
        FunctionTransformer(operator.abs), RandomForestClassifier(n_estimators=3, random_state=0)
    ).fit(X, y)
    path = tmp_path / "two.skops"
    skops.io.dump(model, path)

    both = ferry("register", str(path), "--name", "two", code=1)
    assert f"['_operator.abs', '{TREE}']" in both.stderr
    one = ferry("register", str(path), "--name", "two", "--trust", TREE, code=1)
    assert "['_operator.abs']" in one.stderr
    ferry("register", str(path), "--name", "two", "--trust", TREE, "--trust", "_operator.abs")
    loaded = Registry(home).load("two")
    np.testing.assert_array_equal(loaded.predict(X.head(20)), model.predict(X.head(20)))


def test_a_model_registered_from_python_keeps_its_recorded_types(
    home: Path, forest: RandomForestClassifier, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = cancer
    registry = Registry(home)
    version = registry.register(forest, "forest", input_example=X.head(5))
    assert version.metadata["loader"]["trusted_types"] == [TREE]
    np.testing.assert_array_equal(registry.load("forest").predict(X), forest.predict(X))


def test_a_file_that_is_not_skops_is_a_one_line_error(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "broken.skops"
    path.write_bytes(b"not a zip archive")
    refused = ferry("register", str(path), "--name", "broken", code=1)
    assert refused.stderr.startswith("error: broken.skops is not a readable skops file")
    assert refused.stderr.count("\n") == 1


@pytest.mark.parametrize("name", ["model.h5", "model.keras", "net.pt"])
def test_a_framework_without_a_flavor_is_told_the_onnx_route(
    tmp_path: Path, home: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89HDF\r\n")
    refused = ferry("register", str(path), "--name", "keras", code=1)
    assert f"cannot register {name}" in refused.stderr
    assert "export it to ONNX" in refused.stderr and "register the .onnx file" in refused.stderr
    assert not (home / "models").exists()


@pytest.fixture
def kmeans_onnx(tmp_path: Path, cancer) -> Path:
    from skl2onnx import to_onnx
    from sklearn.cluster import KMeans

    features = cancer[0].to_numpy(dtype=np.float32)
    graph = to_onnx(KMeans(3, n_init=2, random_state=0).fit(features), features[:1])
    (tmp_path / "segments.onnx").write_bytes(graph.SerializeToString())
    return tmp_path / "segments.onnx"


def test_an_onnx_files_task_and_outputs_are_declared_on_the_command_line(
    kmeans_onnx: Path, home: Path
) -> None:
    args = ["register", str(kmeans_onnx), "--name", "segments", "--json", "--task", "clusterer"]
    done = ferry(*args, "--outputs", "label=label,distances=scores")
    schema = json.loads(done.stdout)["metadata"]["output_schema"]
    assert schema["task"] == "clusterer" and schema["n_clusters"] == 3
    assert schema["outputs"] == ["predictions", "distances", "confidence"]
    assert schema["onnx_outputs"] == {"predictions": "label", "distances": "scores"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--outputs", "label=label,distances=nope"], "this ONNX graph has no output 'nope'"),
        (["--outputs", "scores=scores"], "unknown output 'scores'"),
        (["--task", "ranker"], "unknown task 'ranker'"),
    ],
)
def test_a_wrong_declaration_is_refused_naming_it(
    kmeans_onnx: Path, home: Path, options: list[str], message: str
) -> None:
    refused = ferry("register", str(kmeans_onnx), "--name", "segments", *options, code=1)
    assert message in refused.stderr
    assert Registry(home=home).list_models() == []
