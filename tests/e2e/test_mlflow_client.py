"""MLflow's own scoring client against a real ``ferry serve`` with two models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferry import __version__

pytestmark = [
    pytest.mark.slow,
    # mlflow's pandas use inside the client trips pandas' own deprecations; nothing of ferry's.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
]
scoring = pytest.importorskip("mlflow.pyfunc.scoring_server.client")


def test_mlflow_clients_score_the_default_model_without_naming_it(
    start_server, sqlite_registry, pipeline, regressor, cancer, monkeypatch
):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    model, X = regressor
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    sqlite_registry.register(model, "diabetes", input_example=X)
    server = start_server(
        sqlite_registry.settings.home, "cancer", "diabetes", FERRY_DEFAULT_MODEL="diabetes"
    )
    server.wait_for("ready: diabetes as diabetes:1.0.0")
    client = scoring.ScoringServerClient("127.0.0.1", server.port)
    client.wait_server_ready(timeout=60, scoring_server_proc=server.process)

    answer = client.invoke(X.head(3))

    np.testing.assert_allclose(np.ravel(answer.get_predictions()), model.predict(X.head(3)))
    assert json.loads(client.get_version()) == {
        "name": "ferry",
        "version": __version__,
        "default_model": "diabetes",
        "models": [
            {"name": "cancer", "version": "1.0.0"},
            {"name": "diabetes", "version": "1.0.0"},
        ],
    }
