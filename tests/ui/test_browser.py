"""A user's journey through ``ferry ui`` in a real headless Chromium (Debian's, driven by
Playwright): open Models, open a model, Train and watch the run end with its decision, promote a
version, roll back, see the alias history change. No console error, no request to any host but
127.0.0.1; a screenshot of every page lands in the test's temporary folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ferry import Registry

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
FERRY = str(Path(sys.executable).parent / "ferry")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(
            "!!! /usr/bin/chromium is missing, the browser tests are SKIPPED: "
            "apt-get install -y chromium (scripts/test does it)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def dashboard(history: Registry, pipeline_file: Path, tmp_path: Path) -> Iterator[str]:
    """``ferry ui`` over the history registry, as a user starts it; its URL once it listens."""
    port = free_port()
    environ = {**os.environ, "FERRY_HOME": str(tmp_path / "home")}
    environ.pop("FERRY_API_TOKEN", None)
    process = subprocess.Popen(
        [FERRY, "ui", "--port", str(port), "--pipeline", str(pipeline_file), "--log-level", "info"],
        env=environ, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "Uvicorn running on" in line:
            break
    else:
        raise AssertionError("ferry ui exited before listening")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    process.stderr.close()


def test_journey_train_promote_roll_back(browser, dashboard, tmp_path):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(dashboard + "/")
    assert page.get_by_role("columnheader", name="Model").is_visible()
    shot("models")

    page.get_by_role("link", name="cancer", exact=True).click()
    page.wait_for_url(re.compile(r"/models/cancer$"))
    assert page.locator("svg.chart").is_visible()
    shot("model")

    page.get_by_role("button", name="Train cancer").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+$"))
    shot("run-started")
    # the page refreshes itself in place (no reload) until the run ends
    page.locator("#run-status.succeeded").wait_for(timeout=60_000)
    decision = page.locator("#run-decision").inner_text()
    assert decision in ("promoted", "rejected"), decision
    assert page.get_by_role("rowheader", name="fit").is_visible()
    shot("run")

    page.get_by_role("link", name="← cancer").click()
    page.wait_for_url(re.compile(r"/models/cancer$"))
    page.get_by_label("Version", exact=True).select_option("1.0.0")
    page.locator("#promote-alias").fill("staging")
    page.locator("#promote-reason").fill("from the browser")
    page.get_by_role("button", name="Promote").click()
    page.wait_for_url(re.compile(r"/models/cancer$"))
    history = page.locator("#history li").first
    assert "staging" in history.inner_text() and "from the browser" in history.inner_text()

    before = page.locator("#history li").count()
    page.locator("#rollback-alias").select_option("production")
    page.get_by_role("button", name="Roll back").click()
    page.wait_for_url(re.compile(r"/models/cancer$"))
    assert page.locator("#history li").count() == before + 1
    newest = page.locator("#history li").first.inner_text()
    assert "production" in newest and "rollback" in newest.lower()
    shot("model-after")

    context.close()
    assert not problems, problems
    assert hosts == {"127.0.0.1"}, hosts
    assert sorted(p.name for p in shots.iterdir()) == [
        "model-after.png", "model.png", "models.png", "run-started.png", "run.png",
    ]  # fmt: skip
