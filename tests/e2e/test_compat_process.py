"""FERRY_COMPAT on a real ``ferry serve`` process: a model saved with another numpy."""

from __future__ import annotations

import httpx
import pytest

from ferry.flavors.base import installed_version

pytestmark = pytest.mark.slow

NUMPY = installed_version("numpy") or ""
MAJOR, MINOR = NUMPY.split(".")[:2]
SAVED_WITH = f"{MAJOR}.{int(MINOR) + 1}.0"


@pytest.fixture
def home(sqlite_registry, pipeline, cancer, recorded_libraries):
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    recorded_libraries(sqlite_registry, "cancer:1.0.0", {"numpy": SAVED_WITH})
    return sqlite_registry.settings.home


def test_strict_by_default_then_warn_serves_with_the_warning_in_health(start_server, home, cancer):
    refused = start_server(home, "cancer:1.0.0")
    line = refused.wait_for("cannot serve cancer:1.0.0")
    assert f"numpy {SAVED_WITH} recorded, {NUMPY} installed" in line
    health = httpx.get(f"{refused.url}/model/health").json()
    assert health["models"]["cancer"]["status"] == "failed"
    assert httpx.get(f"{refused.url}/v2/health/ready").status_code == 503

    served = start_server(home, "cancer:1.0.0", FERRY_COMPAT="warn")
    served.wait_for("serving anyway (FERRY_COMPAT=warn)")
    served.wait_for("ready: cancer:1.0.0")
    rows = {"rows": cancer[0].head(2).to_numpy().tolist()}
    assert httpx.post(f"{served.url}/predict", json=rows).status_code == 200
    compat = httpx.get(f"{served.url}/model/health").json()["models"]["cancer"]["compat"]
    assert compat["mode"] == "warn" and not compat["compatible"]
    assert f"numpy {SAVED_WITH} recorded" in compat["warning"]
