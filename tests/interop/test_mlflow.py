"""``ferry import mlflow`` against a real MLflow tracking store (SQLite) made here."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from ferry import InvalidInput, Registry
from ferry.cli.main import app

mlflow = pytest.importorskip("mlflow")
pytestmark = [
    # mlflow's own SQLAlchemy store and pandas use trip these inside mlflow; nothing of ferry's.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
]


@dataclass(frozen=True)
class Store:
    """A tracking store with one registered skops model and one cloudpickled run model."""

    uri: str
    model: LogisticRegression
    X: pd.DataFrame
    run_id: str
    pickled_run_id: str
    folder: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.MonkeyPatch.context() as env, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the setup is MLflow logging, not what is tested
        env.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.create_experiment("iris", artifact_location=(root / "art").as_uri())
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_params({"C": 1.0, "max_iter": 1000})
            mlflow.log_metrics({"accuracy": 0.97, "f1": 0.96})
            mlflow.set_tag("team", "fraud")
            mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=X.head(3),
                serialization_format="skops",
                registered_model_name="Iris Classifier",
                pip_requirements=[],
            )
        with mlflow.start_run(experiment_id=experiment) as pickled:
            mlflow.sklearn.log_model(
                model,
                name="model",
                input_example=X.head(2),
                serialization_format="cloudpickle",
                pip_requirements=[],
            )
        client = mlflow.MlflowClient(tracking_uri=uri)
        client.set_registered_model_alias("Iris Classifier", "champion", "1")
        client.update_model_version("Iris Classifier", "1", description="the first iris")
        folder = root / "saved"
        mlflow.sklearn.save_model(
            model,
            folder,
            serialization_format="skops",
            pip_requirements=[],
            signature=mlflow.models.infer_signature(X, model.predict(X)),
        )
        mlflow.set_tracking_uri(None)
        env.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield Store(uri, model, X, run.info.run_id, pickled.info.run_id, folder)


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _cli(home: Path, *args: str, uri: str | None = None) -> dict[str, object]:
    env = {"FERRY_HOME": str(home), **({"MLFLOW_TRACKING_URI": uri} if uri else {})}
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def test_a_registered_version_comes_in_with_its_lineage(store: Store, tmp_path: Path) -> None:
    shown = _cli(tmp_path, "import", "mlflow", "models:/Iris Classifier/1", uri=store.uri)

    assert shown["name"] == "iris-classifier"
    metadata = shown["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["serialization"] == "skops"
    assert metadata["performance"] == {"accuracy": 0.97, "f1": 0.96}
    assert metadata["hyperparameters"] == {"C": "1.0", "max_iter": "1000"}
    assert metadata["description"] == "the first iris"
    tags = metadata["tags"]
    assert tags["team"] == "fraud"
    assert tags["mlflow.run_id"] == store.run_id
    assert tags["mlflow.source"] == "models:/Iris Classifier/1"
    assert tags["mlflow.registered_model"] == "Iris Classifier/1"
    columns = metadata["input_schema"]["columns"]
    assert [c["name"] for c in columns] == list(store.X.columns)
    assert {c["dtype"] for c in columns} == {"float64"}
    with Registry(tmp_path) as registry:
        loaded = registry.load("iris-classifier")
        example = registry.input_example("iris-classifier")
    assert example.shape == (3, 4)
    np.testing.assert_array_equal(loaded.predict(store.X), store.model.predict(store.X))


def test_an_alias_source_carries_its_aliases_on_request(store: Store, tmp_path: Path) -> None:
    with Registry(tmp_path) as registry:
        created = registry.import_mlflow(
            "models:/Iris Classifier@champion", name="iris", tracking_uri=store.uri, aliases=True
        )
        assert created.aliases == ("champion",)
        assert registry.resolve("iris@champion").version == created.version
        moves = registry.alias_history("iris", "champion")
    assert "carried from MLflow" in (moves[0].reason or "")


def test_a_pickled_run_model_needs_trust(store: Store, tmp_path: Path) -> None:
    source = f"runs:/{store.pickled_run_id}/model"
    refused = CliRunner().invoke(
        app,
        ["import", "mlflow", source, "--name", "iris"],
        env={"FERRY_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": store.uri},
    )
    assert refused.exit_code == 1
    assert "--trust-pickle" in refused.output

    shown = _cli(
        tmp_path, "import", "mlflow", source, "-n", "iris", "--trust-pickle", uri=store.uri
    )

    metadata = shown["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["serialization"] == "skops"  # re-saved safely, hash-verified from now on
    assert metadata["tags"]["mlflow.run_id"] == store.pickled_run_id
    assert len(metadata["tags"]["mlflow.model_file_sha256"]) == 64


def test_a_folder_without_example_gets_one_from_its_signature(store: Store, tmp_path: Path) -> None:
    with Registry(tmp_path) as registry:
        created = registry.import_mlflow(str(store.folder), name="iris")
        example = registry.input_example("iris")
    assert created.metadata["tags"]["ferry.input_example"] == "synthesized"
    assert list(example.columns) == list(store.X.columns)


def test_a_records_orient_example_is_read(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    with Registry(tmp_path / "home") as registry:
        mlmodel = mlflow.models.Model.load(str(store.folder / "MLmodel"))
        shutil.copytree(store.folder, folder)
        rows = store.X.head(2).to_dict(orient="records")
        (folder / "input_example.json").write_text(json.dumps(rows))
        mlmodel.saved_input_example_info = {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "records",
        }
        mlmodel.save(str(folder / "MLmodel"))
        registry.import_mlflow(str(folder / "MLmodel"), name="iris")
        example = registry.input_example("iris")
    assert example.shape == (2, 4)
    assert list(example.columns) == list(store.X.columns)


def test_bad_sources_are_named(store: Store, tmp_path: Path) -> None:
    with Registry(tmp_path) as registry:
        with pytest.raises(InvalidInput, match="MLFLOW_TRACKING_URI"):
            registry.import_mlflow("models:/Iris Classifier/1")
        with pytest.raises(InvalidInput, match="not an MLflow model"):
            registry.import_mlflow(str(tmp_path), name="x")
        with pytest.raises(InvalidInput, match="--name"):
            registry.import_mlflow(str(store.folder))
        with pytest.raises(LookupError, match="Iris Classifier/9"):
            registry.import_mlflow("models:/Iris Classifier/9", tracking_uri=store.uri)


def test_register_points_an_mlflow_folder_to_import(store: Store, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["register", str(store.folder), "--name", "iris"], env={"FERRY_HOME": str(tmp_path)}
    )

    assert result.exit_code == 1
    assert "ferry import mlflow" in result.output


def test_an_onnx_model_comes_in_as_onnx(store: Store, tmp_path: Path) -> None:
    from skl2onnx import to_onnx

    rows = store.X.to_numpy(dtype=np.float32)
    graph = to_onnx(store.model, rows[:1], options={"zipmap": False})
    folder = tmp_path / "onnx-model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setup: MLflow saving, not what is tested
        mlflow.onnx.save_model(graph, folder, input_example=rows[:2], pip_requirements=[])

    with Registry(tmp_path / "home") as registry:
        created = registry.import_mlflow(str(folder), name="iris-onnx")
        loaded = registry.load("iris-onnx")

    assert created.metadata["flavor"] == "onnx"
    assert created.metadata["input_schema"]["shape"] == [-1, 4]
    np.testing.assert_array_equal(loaded.predict(rows[:5]), store.model.predict(store.X.head(5)))
