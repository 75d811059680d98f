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
from typing import Any
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


def start(arguments: list[str], home: Path, ready: str, **env: str) -> subprocess.Popen[str]:
    """A ferry command as a user runs it, once its log says ``ready``."""
    environ = {**os.environ, "FERRY_HOME": str(home), **env}
    if "FERRY_API_TOKEN" not in env:
        environ.pop("FERRY_API_TOKEN", None)
    process = subprocess.Popen(
        [FERRY, *arguments], env=environ, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if ready in line:
            return process
    raise AssertionError(f"ferry {arguments[0]} exited before logging {ready!r}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()


@pytest.fixture
def dashboard(history: Registry, pipeline_file: Path, tmp_path: Path) -> Iterator[str]:
    """``ferry ui`` over the history registry, as a user starts it; its URL once it listens."""
    port = free_port()
    arguments = ["ui", "--port", str(port), "--pipeline", str(pipeline_file), "--log-level", "info"]
    process = start(arguments, tmp_path / "home", "Uvicorn running on")
    yield f"http://127.0.0.1:{port}"
    stop(process)


class Watched:
    """A page whose console errors, failed requests and hosts asked are recorded."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []
        self.hosts: set[str] = set()
        self.navigations = 0
        self.shots = shots
        shots.mkdir(exist_ok=True)
        page = self.page
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("request", lambda r: self.hosts.add(urlsplit(r.url).hostname or r.url))
        page.on("framenavigated", lambda frame: self._navigated(frame))

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.navigations += 1

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems
        assert self.hosts == {"127.0.0.1"}, self.hosts


def test_journey_train_promote_roll_back(browser, dashboard, tmp_path):
    watched = Watched(browser, tmp_path / "screenshots")
    page, shot = watched.page, watched.shot

    page.goto(dashboard + "/")
    assert page.get_by_role("columnheader", name="Model").is_visible()
    shot("models")

    page.get_by_role("link", name="cancer", exact=True).click()
    page.wait_for_url(re.compile(r"/models/cancer$"))
    assert page.get_by_role("img", name="Share of drifted features per monitor check").is_visible()
    shot("model")

    train = page.get_by_role("button", name="Train cancer")
    train.focus()  # actions are reachable and usable from the keyboard
    assert train.evaluate("button => document.activeElement === button")
    page.keyboard.press("Enter")
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
    with page.expect_navigation():  # the page posts and comes back to the same address
        page.get_by_role("button", name="Promote").click()
    history = page.locator("#history li").first
    assert "staging" in history.inner_text() and "from the browser" in history.inner_text()

    before = page.locator("#history li").count()
    page.locator("#rollback-alias").select_option("production")
    page.locator("#rollback-reason").focus()
    page.keyboard.press("Tab")  # from the reason field, Tab reaches the Roll back button
    assert page.evaluate("document.activeElement.textContent") == "Roll back"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#history li").count() == before + 1
    newest = page.locator("#history li").first.inner_text()
    assert "production" in newest and "rollback" in newest.lower()
    shot("model-after")

    watched.close()
    assert sorted(p.name for p in watched.shots.iterdir()) == [
        "model-after.png", "model.png", "models.png", "run-started.png", "run.png",
    ]  # fmt: skip


def test_latest_drift_check_plots_each_feature(browser, dashboard, tmp_path):
    """The Model page draws reference vs current per feature for the latest check: a labelled
    SVG each, drifted first, the first 12 until "Show all" asks for every one."""
    watched = Watched(browser, tmp_path / "screenshots")
    page = watched.page
    page.goto(dashboard + "/models/cancer")
    plots = page.locator("#distributions svg[role=img]")
    assert plots.count() == 12
    drifted = page.get_by_role("img", name="mean area: reference vs current distribution (drifted)")
    drifted.scroll_into_view_if_needed()
    assert drifted.is_visible() and drifted.locator("rect.current").count() == 22
    page.get_by_role("link", name="Show all 30 features").click()
    page.wait_for_url(re.compile(r"features=all"))
    assert page.locator("#distributions svg[role=img]").count() == 30
    assert page.get_by_role("img", name=re.compile(r"^worst symmetry: ")).is_visible()
    page.locator("#distributions-h").scroll_into_view_if_needed()
    page.locator("#distributions").screenshot(path=str(watched.shots / "distributions.png"))
    watched.close()


def test_live_page_in_ferry_serve_behind_a_token_refreshes_in_place(browser, history, tmp_path):
    """Sign in with the token, open Live, send predictions: the figures appear without a reload;
    then /docs renders Swagger UI with nothing fetched from the network."""
    import httpx

    port = free_port()
    arguments = ["serve", "cancer@production", "--port", str(port)]
    server = start(arguments, tmp_path / "home", "ready: cancer@production",
                   FERRY_API_TOKEN="s3cret", FERRY_LOG_FLUSH_SECONDS="0.2")  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    watched = Watched(browser, tmp_path / "screenshots")
    page = watched.page
    try:
        page.goto(url + "/ui/")
        page.wait_for_url(re.compile(r"/ui/login$"))
        page.get_by_label("API token").fill("s3cret")
        watched.shot("login")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/ui/$"))
        assert "ready 1.1.0" in page.locator("#models").inner_text()
        page.get_by_role("link", name="Live").click()
        page.wait_for_url(re.compile(r"/ui/live$"))
        loaded = watched.navigations
        rows = history.input_example("cancer@production").head(3).to_dict(orient="records")
        for index in range(5):
            answer = httpx.post(
                url + "/predict", json={"records": rows}, headers={"x-request-id": f"b-{index}"}
            )
            assert answer.status_code == 200, answer.text
        page.locator("#traffic").wait_for()
        page.locator("#recent").get_by_text("b-4").first.wait_for()
        assert watched.navigations == loaded  # refreshed in place, never reloaded
        watched.shot("live")
        page.goto(url + "/docs")  # Swagger UI from the package: works with no internet
        page.get_by_text("/predict").first.wait_for()
        watched.shot("docs")
    finally:
        watched.close()
        stop(server)
