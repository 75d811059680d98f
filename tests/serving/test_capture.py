"""The prediction log and feedback, read back as the drift monitor reads them."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest

pytestmark = pytest.mark.anyio


async def test_predictions_and_feedback_land_in_partitioned_parquet(serve, cancer_registry, cancer):
    frame = cancer[0].head(3)
    async with serve() as (client, _server):
        answer = (
            await client.post("/predict", json={"records": frame.to_dict(orient="records")})
        ).json()
        await client.post("/predict", json={"rows": frame.head(1).to_numpy().tolist()})
        recorded = await client.post(
            "/feedback", json={"request_id": answer["request_id"], "label": 1}
        )
        assert recorded.json() == {
            "recorded": True,
            "model": "cancer",
            "request_id": answer["request_id"],
        }
        unknown = await client.post("/feedback", json={"request_id": "nope", "label": 0})
        assert unknown.status_code == 404 and "pass 'model'" in unknown.json()["error"]
        bad = await client.post("/feedback", json={"label": 0})
        assert bad.status_code == 422
    home = cancer_registry.settings.home
    predictions = ds.dataset(home / "predictions", partitioning="hive").to_table().to_pandas()
    assert len(predictions) == 4
    assert set(predictions["model"]) == {"cancer"} and set(predictions["version"].astype(str)) == {
        "1.0.0"
    }
    assert predictions["mean radius"].tolist()[:3] == frame["mean radius"].tolist()
    assert {"ferry_request_id", "ferry_time", "ferry_prediction", "ferry_confidence", "day"} <= set(
        predictions
    )
    assert (predictions["ferry_request_id"] == answer["request_id"]).sum() == 3
    assert predictions["ferry_confidence"].between(0.5, 1.0).all()
    feedback = ds.dataset(home / "feedback", partitioning="hive").to_table().to_pandas()
    assert feedback["ferry_request_id"].tolist() == [answer["request_id"]]
    assert feedback["label"].tolist() == [1]


async def test_sampling_zero_logs_nothing(serve, cancer_registry, cancer):
    async with serve(log_sample_rate=0.0) as (client, _server):
        await client.post("/predict", json={"rows": cancer[0].head(1).to_numpy().tolist()})
    assert not (cancer_registry.settings.home / "predictions").exists()
