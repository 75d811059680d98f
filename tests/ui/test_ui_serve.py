"""The dashboard at ``/ui`` of ``ferry serve``: built on first use, links under ``/ui``, the
served model's live status, and alias moves the server follows at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer

pytestmark = pytest.mark.anyio


async def test_ui_is_mounted_with_live_status_and_swaps_on_promote(csrf_of, history: Registry):
    settings = ServingSettings(
        models=("cancer@production",), warmup_iterations=1, poll_interval=3600.0
    )
    server = ModelServer(settings, history)
    app = create_app(server)
    async with app.router.lifespan_context(app):
        await server.first_loads()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            models = await client.get("/ui/")
            assert models.status_code == 200
            assert (
                'href="/ui/models/cancer"' in models.text and "/ui/static/ferry.css" in models.text
            )
            assert "ready 1.1.0" in models.text
            assert (await client.get("/ui/static/ferry.css")).status_code == 200
            live = await client.get("/ui/live")
            assert live.status_code == 200 and "ready 1.1.0" in live.text
            csrf = csrf_of((await client.get("/ui/models/cancer")).text)
            rolled = await client.post(
                "/ui/models/cancer/rollback", data={"alias": "production", "csrf": csrf}
            )
            assert rolled.status_code == 303 and rolled.headers["location"] == "/ui/models/cancer"
            assert server.live["cancer"].serving().version == "1.0.0"  # swapped, no poll needed
            assert (await client.get("/v2/health/ready")).status_code == 200


async def test_live_page_shows_traffic_confidence_and_logged_requests(history: Registry, cancer):
    settings = ServingSettings(
        models=("cancer@production",), warmup_iterations=1, poll_interval=3600.0
    )
    server = ModelServer(settings, history)
    app = create_app(server)
    rows = cancer[0].head(3).to_dict(orient="records")
    async with app.router.lifespan_context(app):
        await server.first_loads()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for index in range(4):
                answer = await client.post(
                    "/predict", json={"records": rows}, headers={"x-request-id": f"req-{index}"}
                )
                assert answer.status_code == 200
            assert (await client.post("/predict", json={"records": [{"x": 1}]})).status_code == 422
            await asyncio.to_thread(server.capture.flush)
            page = (await client.get("/ui/live")).text
            traffic = page[page.index('id="traffic"') :]
            assert '<td>1.1.0</td><td>primary</td><td class="num">4</td>' in traffic
            # a request refused before any version answered counts under version "none"
            refused = traffic[traffic.index("<td>none</td>") :]
            assert refused.index("100.0 %") < refused.index("</tr>")
            assert "Prediction confidence of cancer" in page and "<rect" in page
            assert "<figcaption>Rows per model call (batch size)</figcaption>" in page
            assert "No data yet for Share of answers with an error" in page  # one look so far
            assert (await client.post("/predict", json={"records": rows})).status_code == 200
            assert (await client.post("/predict", json={"records": [{}]})).status_code == 422
            again = (await client.get("/ui/live")).text  # between the looks: 1 error in 2
            errors = again[again.index('aria-label="Share of answers with an error') :]
            assert "0.5</title></circle>" in errors[: errors.index("</svg>")]
            assert 'aria-label="p99 latency in ms' in again
            recent = page[page.index('id="recent"') :]
            assert "req-3" in recent and "req-0" in recent
            assert (await client.get("/ui/live?page=0")).status_code == 422
            empty = (await client.get("/ui/live?page=9")).text
            assert "No logged requests on this page" in empty


def test_serving_start_does_not_import_the_dashboard(tmp_path):
    """Jinja2 and ferry.ui load on the first /ui request, never at the server's start."""
    code = (
        "import sys\n"
        "from ferry.config import ServingSettings\n"
        "from ferry.registry.registry import Registry\n"
        "from ferry.serving.app import create_app\n"
        "from ferry.serving.server import ModelServer\n"
        f"registry = Registry(home={str(tmp_path)!r})\n"
        "create_app(ModelServer(ServingSettings(models=('m@production',)), registry))\n"
        "loaded = [m for m in sys.modules if m.startswith(('jinja2', 'ferry.ui'))]\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
