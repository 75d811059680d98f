"""Callers without the token never read the registry's location or a credential."""

from __future__ import annotations

import pytest

from ferry.serving.disclosure import Disclosure

pytestmark = pytest.mark.anyio

ROW = [1.0] * 30
PREDICTIONS = [
    ("/predict", {"rows": [ROW]}),
    ("/invocations", {"instances": [ROW]}),
    ("/v2/models/cancer/infer", {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": ROW}]}),
]  # fmt: skip


@pytest.fixture
def broken_registry(cancer_registry):
    """The served version's model file is gone: its load error names where it looked."""
    (cancer_registry.settings.home / "models" / "cancer" / "v1.0.0" / "model.skops").unlink()
    return cancer_registry


async def test_health_and_503_bodies_do_not_show_the_registry_path(serve_registry, broken_registry):
    home = str(broken_registry.settings.home)
    async with serve_registry(broken_registry) as (client, server):
        assert home in server.health()["models"]["cancer"]["error"]  # what the log gets
        health = await client.get("/model/health")
        answers = [await client.post(path, json=body) for path, body in PREDICTIONS]
    assert health.status_code == 200
    model = health.json()["models"]["cancer"]
    assert model["error"].startswith("IntegrityError: artifact 'model.skops' of cancer:1.0.0")
    assert "is missing from <path>: refusing" in model["error"]
    assert health.json()["prediction_log"]["location"] == "<path>"
    assert home not in health.text
    for answer in answers:
        assert answer.status_code == 503
        assert "<path>" in answer.text and home not in answer.text


async def test_the_token_holder_reads_health_unredacted(serve_registry, broken_registry):
    home = str(broken_registry.settings.home)
    async with serve_registry(broken_registry, api_token="s3cret") as (client, _server):
        anonymous = await client.get("/model/health")
        wrong = await client.get("/model/health", headers={"authorization": "Bearer nope"})
        holder = await client.get("/model/health", headers={"authorization": "Bearer s3cret"})
        refused = await client.post("/predict", json={"rows": [ROW]})
    assert home not in anonymous.text and home not in wrong.text and home not in refused.text
    assert home in holder.json()["models"]["cancer"]["error"]


async def test_answers_without_locations_are_unchanged(serve):
    async with serve() as (client, _server):
        predicted = await client.post("/predict", json={"rows": [ROW]})
        missing = await client.post("/v2/models/a%2Fb/infer")
    assert predicted.status_code == 200 and len(predicted.json()["predictions"]) == 1
    assert "POST /v2/models/a%2Fb/infer" in missing.json()["error"]
    assert int(missing.headers["content-length"]) == len(missing.content)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("missing from /srv/ferry: refusing", "missing from <path>: refusing"),
        ("compiled at /srv/cache/cancer/model.onnx.", "compiled at <path>."),
        ("catalog sqlite:////srv/ferry/ferry.db is locked", "catalog <url> is locked"),
        ("cannot reach postgresql://ferry:pw@db:5432/ferry", "cannot reach <url>"),
        ("no object s3://models/prod/cancer/v1/model.skops", "no object <url>"),
        ("s3 said: bad key AKIAEXAMPLE", "s3 said: bad key <secret>"),
        ("see https://example.com/docs and /docs", "see https://example.com/docs and /docs"),
    ],
)
def test_locations_urls_with_credentials_and_secrets_are_redacted(text, redacted):
    disclosure = Disclosure(
        ["/srv/ferry", "/srv/cache", "s3://models/prod", "sqlite:////srv/ferry/ferry.db"],
        ["AKIAEXAMPLE"],
    )
    assert disclosure.redact(text) == redacted
    assert disclosure.redact_all({"error": [text]}) == {"error": [redacted]}
