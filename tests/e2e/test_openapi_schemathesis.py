"""schemathesis over the live OpenAPI document of a real ``ferry serve`` process.

Every documented operation is called with generated requests, valid and invalid (a bounded
number of examples, a fixed seed), through schemathesis's own command line: no answer may be a
server error; every answer must have a documented status, content type, ``Allow`` header and
schema; invalid requests must be refused with a 4xx; guarded routes must refuse a request
without the token. ``positive_data_acceptance`` is left out: the document describes every
model's requests, so a schema-valid body with features the served model does not take is
rightly a 422.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).parent / "st")
TOKEN = "s3cret-token"
CONFIG = """
[parameters]
"path.model" = "cancer"
"path.name" = "cancer"
"path.version" = "1.0.0"
"""
"""Path parameters name the served model and version, so requests reach the model rather than
stopping at a 404 (unknown names are tested in tests/serving)."""


def test_every_operation_keeps_to_its_documented_contract(
    start_server, sqlite_registry, pipeline, cancer, tmp_path
):
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    sqlite_registry.set_alias("cancer", "production", "1.0.0")
    server = start_server(sqlite_registry.settings.home, "cancer@production",
                          FERRY_API_TOKEN=TOKEN)  # fmt: skip
    server.wait_for("ready: cancer@production")
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    result = subprocess.run(
        [ST, "--config-file", "schemathesis.toml", "run", f"{server.url}/openapi.json",
         "--header", f"Authorization: Bearer {TOKEN}", "--max-examples", "12",
         "--seed", "20261202", "--generation-database", "none", "--no-color",
         "--phases", "examples,coverage,fuzzing",
         "--exclude-checks", "positive_data_acceptance"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert f"Tested: {operations}" in result.stdout, result.stdout
