"""One meaning of "low confidence": the rows the server counts in ``ferry_low_confidence`` are
the rows the monitor's ``low_confidence`` alert counts in the prediction log it wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_breast_cancer

from ferry import Registry
from ferry.config import LOW_CONFIDENCE, ServingSettings
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer
from ferry.training import Monitor, run_pipeline
from ferry.training.alerts import Alerter
from ferry.training.sections import AlertsSection
from ferry.training.spec import load_spec

pytestmark = pytest.mark.anyio

PIPELINE = """
[model]
name = "cancer"
[data]
source = "train.csv"
target = "target"
[estimator]
class = "sklearn.ensemble.RandomForestClassifier"
params = { n_estimators = 8, max_depth = 3, random_state = 0 }
[evaluation]
cv_folds = 0
[drift]
min_rows = 50
[alerts]
low_confidence = 0.9
low_confidence_share = 0.01
"""


def test_one_default_for_the_server_and_the_pipeline():
    assert ServingSettings().low_confidence == AlertsSection().low_confidence == LOW_CONFIDENCE


async def test_the_server_and_the_monitor_count_the_same_rows(tmp_path):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.assign(target=y).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "pipeline.toml").write_text(PIPELINE)
    spec = load_spec(tmp_path / "pipeline.toml")
    registry = Registry(home=tmp_path / "home")
    try:
        run_pipeline(spec, registry)
        settings = ServingSettings(models=("cancer@production",), warmup_iterations=1,
                                   poll_interval=3600.0, low_confidence=0.9)  # fmt: skip
        server = ModelServer(settings, registry)
        app = create_app(server)
        async with app.router.lifespan_context(app):
            await server.first_loads()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://f") as client:
                for start in range(0, 300, 50):
                    records = X.iloc[start : start + 50].to_dict(orient="records")
                    answer = await client.post("/predict", json={"records": records})
                    assert answer.status_code == 200, answer.text
                counted = _low_confidence_total((await client.get("/metrics")).text)
        assert counted > 0
        later = datetime.now(UTC) + timedelta(minutes=1)
        monitor = Monitor(spec, registry, alerter=Alerter(), clock=lambda: later)
        (alert,) = [a for a in monitor.step(dry_run=True).alerts if a.kind == "low_confidence"]
        assert alert.details["rows"] == 300 and alert.details["low"] == counted
    finally:
        registry.close()


def _low_confidence_total(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ferry_low_confidence_total" and sample.labels["model"] == "cancer":
                return sample.value
    raise AssertionError("ferry_low_confidence_total missing from /metrics")
