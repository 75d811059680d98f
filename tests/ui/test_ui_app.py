"""The dashboard in process: pages over a registry with history, actions guarded against
cross-site posts, sign-in with the API token."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from ferry import Registry
from ferry.training.background import BackgroundTrainer
from ferry.ui.app import create_ui
from ferry.ui.dashboard import Dashboard
from ferry.ui.render import age

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8080"


async def client_for(dashboard: Dashboard) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_ui(dashboard))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
async def client(history: Registry) -> AsyncIterator[httpx.AsyncClient]:
    async for opened in client_for(Dashboard(history)):
        yield opened


async def test_models_page_lists_aliases_versions_and_drift(client, history):
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="/models/cancer"' in page.text
    assert "production → 1.1.0" in page.text
    created = history.resolve("cancer:1.1.0").created_at
    assert f'<time class="age" datetime="{created}"' in page.text  # the production version's age
    assert re.search(
        r'datetime="[^"]+" title="1\.1\.0 registered [^"]+">\d+ s old</time>', page.text
    )
    assert '<th scope="col">Model</th>' in page.text
    assert '<span class="badge bad">drift</span>' in page.text  # the last check drifted


async def test_model_page_shows_versions_history_runs_and_drift_chart(client):
    page = (await client.get("/models/cancer")).text
    assert '<th scope="row">1.1.0</th>' in page and "accuracy=0.97" in page
    assert "569 rows" in page  # the dataset fingerprint of 1.0.0
    assert "classifier" in page and "sklearn" in page
    assert re.search(r'<td class="num">\d+\.\d KB</td>', page)  # the artifacts' size
    history = page[page.index('id="history"') :]
    assert history.index("1.0.0 → 1.1.0") < history.index("(none) → 1.0.0")  # newest first
    assert "better" in history and "tester" in history
    chart = page[page.index('<svg class="chart"') : page.index("</svg>")]
    assert chart.count("<circle") == 2 and "0.6" in chart
    assert "mean radius" in page  # the latest check's drifted feature, inline
    performance = page[page.index('aria-label="f1 on feedback labels') :]
    assert performance.count("<circle") >= 2 and "0.91" in performance
    assert 'id="rollout"' in page


async def test_the_timeline_shows_the_newest_moves_and_says_where_the_rest_are(client, history):
    from ferry.ui.queries import RECENT_MOVES

    for index in range(RECENT_MOVES):
        history.set_alias("cancer", "staging", ("1.0.0", "1.1.0")[index % 2], f"move {index}")
    page = (await client.get("/models/cancer")).text
    timeline = page[page.index('id="history"') : page.index("</ol>", page.index('id="history"'))]
    assert timeline.count("<li") == RECENT_MOVES and f"move {RECENT_MOVES - 1}" in timeline
    assert "better" not in timeline  # production's moves are older than the newest 50
    assert "<code>ferry history cancer</code> lists every one" in page


def test_age_is_the_largest_whole_unit_since_registration():
    now = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
    assert age("2026-03-04T11:59:15+00:00", now) == "45 s"
    assert age("2026-03-04T11:48:00+00:00", now) == "12 min"
    assert age("2026-03-04T07:00:00+00:00", now) == "5 h"
    assert age("2026-03-01T11:00:00+00:00", now) == "3 d"
    assert age("2026-03-04T12:00:05+00:00", now) == "0 s"  # a clock a little ahead: never negative
    assert age(None, now) == ""


async def test_latest_check_plots_reference_vs_current_per_feature(client):
    page = (await client.get("/models/cancer")).text
    plots = page[page.index('id="distributions"') :]
    labels = re.findall(r'<svg class="chart small"[^>]*aria-label="([^"]+)"', plots)
    assert len(labels) == 12  # bounded: drifted features first, the rest one link away
    assert labels[0] == "mean area: reference vs current distribution (drifted)"
    assert all(label.endswith("(drifted)") for label in labels[:5])
    first = plots[: plots.index("</svg>")]
    assert first.count('<rect class="reference"') == first.count('<rect class="current"') == 22
    assert 'id="all-features"' in page and "Show all 30 features" in page

    every = (await client.get("/models/cancer?features=all")).text
    assert every.count('<svg class="chart small"') == 30 and 'id="all-features"' not in every
    refused = await client.get("/models/cancer?features=some")
    assert refused.status_code == 422 and "features must be" in refused.text


async def test_unknown_model_is_an_html_404_naming_it(client):
    page = await client.get("/models/ghost")
    assert page.status_code == 404 and "ghost" in page.text
    assert (await client.get("/nowhere")).status_code == 404


async def test_promote_and_rollback_move_the_alias_and_show_in_history(csrf_of, client, history):
    csrf = csrf_of((await client.get("/models/cancer")).text)
    promoted = await client.post(
        "/models/cancer/promote",
        data={"version": "1.0.0", "alias": "staging", "reason": "try", "csrf": csrf},
    )
    assert promoted.status_code == 303 and promoted.headers["location"] == "/models/cancer"
    assert history.resolve("cancer@staging").version == "1.0.0"
    rolled = await client.post(
        "/models/cancer/rollback", data={"alias": "production", "reason": "bad", "csrf": csrf}
    )
    assert rolled.status_code == 303
    assert history.resolve("cancer@production").version == "1.0.0"
    page = (await client.get("/models/cancer")).text
    assert "1.1.0 → 1.0.0" in page and "rollback" in page


async def test_posts_without_the_csrf_token_or_from_another_site_are_refused(
    csrf_of, client, history
):
    csrf = csrf_of((await client.get("/models/cancer")).text)
    bare = await client.post("/models/cancer/rollback", data={"alias": "production"})
    assert bare.status_code == 403 and "CSRF" in bare.text
    foreign = await client.post(
        "/models/cancer/rollback",
        data={"alias": "production", "csrf": csrf},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "evil.example" in foreign.text
    assert history.resolve("cancer@production").version == "1.1.0"


async def test_bad_action_input_answers_4xx_naming_the_problem(csrf_of, client):
    csrf = csrf_of((await client.get("/models/cancer")).text)
    missing = await client.post("/models/cancer/promote", data={"alias": "x", "csrf": csrf})
    assert missing.status_code == 422 and "version" in missing.text
    unknown = await client.post(
        "/models/cancer/promote", data={"version": "9.9.9", "alias": "x", "csrf": csrf}
    )
    assert unknown.status_code == 404 and "9.9.9" in unknown.text


async def test_with_a_token_pages_need_a_sign_in_kept_in_a_strict_httponly_cookie(csrf_of, history):
    async for client in client_for(Dashboard(history, token="s3cret")):
        assert (await client.get("/")).status_code == 303
        form = await client.get("/login")
        csrf = csrf_of(form.text)
        wrong = await client.post("/login", data={"token": "nope", "csrf": csrf})
        assert wrong.status_code == 401 and "not the API token" in wrong.text
        right = await client.post("/login", data={"token": "s3cret", "csrf": csrf})
        assert right.status_code == 303
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        page = await client.get("/models/cancer")
        assert page.status_code == 200
        # the CSRF value is bound to the cookie: the one from before signing in is stale
        stale = await client.post(
            "/models/cancer/rollback", data={"alias": "production", "csrf": csrf}
        )
        assert stale.status_code == 403
        client.cookies.clear()
        anonymous = await client.post(
            "/models/cancer/rollback", data={"alias": "production", "csrf": csrf}
        )
        assert anonymous.status_code == 401
    assert history.resolve("cancer@production").version == "1.1.0"


async def test_train_runs_the_pipeline_and_its_page_shows_steps_and_decision(
    csrf_of, history, pipeline_file
):
    trainer = BackgroundTrainer(history, [pipeline_file])
    async for client in client_for(Dashboard(history, trainer)):
        csrf = csrf_of((await client.get("/models/cancer")).text)
        started = await client.post("/models/cancer/train", data={"csrf": csrf})
        assert started.status_code == 303 and started.headers["location"].startswith("/runs/")
        await asyncio.to_thread(trainer.join, 120)
        page = (await client.get(started.headers["location"])).text
        assert 'id="run-status" class="status succeeded"' in page
        assert "data-refresh" not in page  # an ended run stops refreshing
        for step in ("load", "fit", "evaluate", "register", "decide"):
            assert f'<th scope="row">{step}</th>' in page
        decision = page[page.index('id="run-decision"') :]
        decision = decision[: decision.index("</dd>")]
        assert 'class="decision promoted"' in decision or 'class="decision rejected"' in decision


async def test_the_rollout_in_progress_shows_its_steps_and_can_be_aborted(csrf_of, client, history):
    from ferry.registry.rollout_plan import RolloutPlan
    from ferry.registry.rollouts import Rollouts
    from ferry.serving.figures import WindowFigures

    started = Rollouts(history).start(
        "cancer@production", "1.0.0", RolloutPlan(), "canary of 1.0.0"
    )
    window = WindowFigures()  # what a serving replica reports at its tick
    for failed in (False, False, False, True):
        window.variants["candidate"].observe(0.002, failed)
    window.variants["primary"].observe(0.001, False)
    window.compared, window.disagreed = 4, 1
    Rollouts(history).report(started, "replica-a", window.to_dict())
    page = (await client.get("/models/cancer")).text
    rollout = page[page.index('id="rollout"') :]
    assert 'id="rollout-state" class="status running">running' in rollout
    assert "1.1.0 (primary) → 1.0.0 (candidate)" in rollout
    assert '<li class="current">' in rollout and "canary of 1.0.0" in rollout
    figures = rollout[rollout.index('id="rollout-window"') : rollout.index("</table>")]
    assert '<th scope="row">candidate</th><td class="num">4</td><td class="num">1</td>' in figures
    assert '<td class="num">25.00 %</td>' in figures and "From 1 replica;" in rollout
    assert "Disagreement 25.00 % (1 of 4 rows compared)" in rollout
    aborted = await client.post(
        "/models/cancer/rollout/abort", data={"reason": "too slow", "csrf": csrf_of(page)}
    )
    assert aborted.status_code == 303
    assert Rollouts(history).get("cancer").state == "aborted"
    assert history.resolve("cancer@production").version == "1.1.0"  # the alias stays
    page = (await client.get("/models/cancer")).text
    events = page[page.index('id="rollout-events"') :]
    assert '<th scope="row">aborted</th>' in events and "too slow" in events
    assert 'id="rollout-abort"' not in page  # nothing left to abort
    assert 'id="rollout-window"' not in page  # an ended rollout has no window to judge
    again = await client.post("/models/cancer/rollout/abort", data={"csrf": csrf_of(page)})
    assert again.status_code == 409
    sideways = await client.post("/models/cancer/rollout/pause", data={"csrf": csrf_of(page)})
    assert sideways.status_code == 422 and "pause" in sideways.text
