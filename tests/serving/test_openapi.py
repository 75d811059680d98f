"""The OpenAPI document: every route described with real schemas, examples that hold, and
answers from the live app that keep to them."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from ferry.registry.rollout_plan import PLAN_KEYS
from ferry.serving.openapi.document import schemas

pytestmark = pytest.mark.anyio


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, its ``$ref``s resolved inside the document (the
    document is the root schema; its other keys are not keywords)."""
    schema = {"components": document["components"], "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema)


async def test_every_route_has_request_response_and_error_schemas(serve):
    async with serve(api_token="t0ken") as (client, _server):
        document = (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            answers = {s: r for s, r in operation["responses"].items() if s < "400"}
            assert answers and all("content" in r for r in answers.values()), where
            if method == "post":
                assert "requestBody" in operation, where
    predict = document["paths"]["/predict"]["post"]
    body = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRequest"}
    assert set(predict["responses"]) == {"200", "404", "413", "422", "503"}
    invocations = document["paths"]["/invocations"]["post"]
    assert set(invocations["requestBody"]["content"]) == {"application/json", "text/csv"}
    error = invocations["responses"]["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/MlflowError"}
    assert document["paths"]["/rollouts"]["post"]["security"] == [{"token": []}]
    assert "401" in document["paths"]["/feedback"]["post"]["responses"]
    model = document["paths"]["/v2/models/{model}/infer"]["post"]["parameters"][0]
    assert model["schema"]["pattern"].startswith("^[a-z0-9]")


async def test_without_a_token_no_route_claims_one(serve):
    async with serve() as (client, _server):
        document = (await client.get("/openapi.json")).json()
    assert "securitySchemes" not in document["components"]
    assert "security" not in document["paths"]["/feedback"]["post"]
    assert "401" not in document["paths"]["/feedback"]["post"]["responses"]


@pytest.mark.parametrize("name", sorted(schemas()))
def test_each_schema_is_valid_and_its_examples_hold(name):
    document = {"components": {"schemas": schemas()}}
    validator = _validator(document, name)
    jsonschema.Draft202012Validator.check_schema(schemas()[name])
    for example in schemas()[name].get("examples", []):
        validator.validate(example)


async def test_real_answers_keep_to_their_schemas(serve, cancer):
    rows = cancer[0].head(2).to_numpy().tolist()
    v2 = {"inputs": [{"name": "input-0", "shape": [2, 30], "datatype": "FP64",
                      "data": rows}]}  # fmt: skip
    async with serve() as (client, _server):
        document = (await client.get("/openapi.json")).json()
        answers = {
            "PredictResponse": await client.post("/predict", json={"rows": rows}),
            "InvocationResponse": await client.post("/invocations", json={"instances": rows}),
            "V1PredictResponse": await client.post(
                "/v1/models/cancer:predict", json={"instances": rows}
            ),
            "InferenceResponse": await client.post("/v2/models/cancer/infer", json=v2),
            "ModelMetadata": await client.get("/v2/models/cancer"),
            "ModelHealth": await client.get("/model/health"),
            "ServerVersion": await client.get("/version"),
            "Error": await client.post("/predict", json={"rows": [[1]]}),
            "MlflowError": await client.post("/invocations", json={"rows": [[1]]}),
        }
    for name, answer in answers.items():
        _validator(document, name).validate(answer.json())


async def test_a_get_on_a_post_only_path_is_405_naming_the_allowed_methods(serve):
    async with serve() as (client, _server):
        predict = await client.get("/v1/models/cancer:predict")
        rollouts = await client.put("/rollouts")
        ping = await client.get("/ping")
    assert predict.status_code == 405 and predict.headers["allow"] == "POST"
    assert rollouts.status_code == 405
    assert set(rollouts.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert ping.headers["content-type"].startswith("text/plain")


def test_the_rollout_body_names_every_option_the_server_takes():
    documented = set(schemas()["RolloutRequest"]["properties"])
    assert documented == {"model", "alias", "candidate", "reason", *PLAN_KEYS}
