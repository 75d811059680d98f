"""LightGBM: text model files and boosters, served through ONNX only where it agrees."""

from __future__ import annotations

from pathlib import Path

import httpx
import lightgbm
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.config import ServingSettings
from ferry.errors import Unsupported
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer


def test_ferry_register_reads_a_text_model_file_with_the_labels_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    X, y = cancer
    data = lightgbm.Dataset(X.to_numpy(), label=y.to_numpy())
    booster = lightgbm.train({"objective": "binary", "num_leaves": 8, "verbose": -1}, data, 10)
    path = tmp_path / "churn.txt"
    booster.save_model(path)
    result = CliRunner().invoke(app, ["register", str(path), "--name", "churn"])
    assert result.exit_code == 0, result.stderr
    rows = X.to_numpy()[::50]
    with Registry(home=tmp_path / "home") as registry:
        loaded = registry.load("churn")
        answer = loaded.outputs(rows)
    expected = booster.predict(rows)
    assert answer.probabilities is not None and answer.predictions is not None
    np.testing.assert_allclose(answer.probabilities[:, 1], expected, rtol=1e-12)
    assert answer.predictions.tolist() == (expected > 0.5).astype(int).tolist()
    metadata = loaded.metadata
    assert (metadata["flavor"], metadata["loader"]["file"]) == ("lightgbm", "model.txt")
    assert metadata["output_schema"]["classes"] == [0, 1]
    assert metadata["dependencies"]["lightgbm"] == lightgbm.__version__


def test_a_ranking_booster_is_refused_naming_its_objective(sqlite_registry: Registry) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    data = lightgbm.Dataset(X, label=rng.integers(0, 3, 40), group=[20, 20])
    ranker = lightgbm.train({"objective": "lambdarank", "verbose": -1}, data, 2)
    with pytest.raises(Unsupported, match=r"objective 'lambdarank'.*LGBMClassifier"):
        sqlite_registry.register(ranker, "ranker", input_example=X[:5])
    wrapper = lightgbm.LGBMRanker(n_estimators=2, verbose=-1)
    wrapper.fit(X, rng.integers(0, 3, 40), group=[20, 20])
    with pytest.raises(Unsupported, match=r"cannot serve a lightgbm.LGBMRanker"):
        sqlite_registry.register(wrapper, "ranker", input_example=X[:5])


def _split_beyond_float32() -> tuple[lightgbm.LGBMRegressor, np.ndarray]:
    """A regressor whose split lies between values float32 cannot tell apart: LightGBM
    compares in double precision, the ONNX tree ensemble in float."""
    x = 1.0 + np.arange(40) * 1e-9
    X = np.column_stack([x, np.zeros(40)])
    y = (np.arange(40) >= 20) * 10.0
    model = lightgbm.LGBMRegressor(
        n_estimators=5, min_child_samples=2, min_data_in_bin=1, verbose=-1
    ).fit(X, y)
    return model, X


@pytest.mark.anyio
async def test_a_graph_that_disagrees_with_lightgbm_is_not_served_and_health_says_why(
    sqlite_registry: Registry,
) -> None:
    model, X = _split_beyond_float32()
    rows = X[16:24]
    sqlite_registry.register(model, "steps", input_example=rows)
    settings = ServingSettings(models=("steps",), warmup_iterations=1, poll_interval=3600.0)
    server = ModelServer(settings, sqlite_registry)
    application = create_app(server)
    async with application.router.lifespan_context(application):
        await server.first_loads()
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
            answer = (await client.post("/predict", json={"rows": rows.tolist()})).json()
            health = (await client.get("/model/health")).json()["models"]["steps"]
    assert answer["predictions"] == model.predict(rows).tolist()
    assert health["backend"] == "native"
    assert "predictions differ from the native model's" in health["reason"]
