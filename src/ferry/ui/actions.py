"""What the dashboard's buttons do (POST handlers): Train, Promote, Roll back, sign in and out.

Each answers with a redirect to the page that shows the result (post/redirect/get), so reloading
never repeats an action.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ferry.errors import InvalidInput, TooLarge, Unauthorized
from ferry.ui.dashboard import Dashboard
from ferry.ui.guard import CSRF_FIELD, Guard
from ferry.ui.render import Renderer, link

SEE_OTHER = 303
MAX_FORM_BYTES = 64 * 1024


async def train(request: Request, ui: Dashboard, guard: Guard) -> Response:
    """Start the model's pipeline in the background and show its run."""
    form = await _checked_form(request, guard)
    name = request.path_params["name"]
    run_id = await run_in_threadpool(ui.need_trainer().start, name, form.get("force") == "on")
    return _see(request, "run", run_id=run_id)


async def promote(request: Request, ui: Dashboard, guard: Guard) -> Response:
    """Point an alias at a version (the served alias follows at once inside ``ferry serve``)."""
    form = await _checked_form(request, guard)
    name = request.path_params["name"]
    version, alias = _field(form, "version"), _field(form, "alias")
    reason = form.get("reason") or None
    await run_in_threadpool(ui.need_registry().set_alias, name, alias, version, reason)
    if ui.alias_moved is not None:
        await ui.alias_moved(name)
    return _see(request, "model", name=name)


async def rollback(request: Request, ui: Dashboard, guard: Guard) -> Response:
    """Move an alias back to its previous version."""
    form = await _checked_form(request, guard)
    name = request.path_params["name"]
    reason = form.get("reason") or None
    await run_in_threadpool(ui.need_registry().rollback, name, _field(form, "alias"), reason)
    if ui.alias_moved is not None:
        await ui.alias_moved(name)
    return _see(request, "model", name=name)


async def end_rollout(request: Request, ui: Dashboard, guard: Guard) -> Response:
    """Promote the rollout's candidate now, or abort it (all traffic back to the primary)."""
    from ferry.registry.rollouts import Rollouts

    form = await _checked_form(request, guard)
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in ("promote", "abort"):
        raise InvalidInput(f"a rollout can be promoted or aborted, not {action!r}")
    store = Rollouts(ui.need_registry())
    change = store.promote if action == "promote" else store.abort
    await run_in_threadpool(change, name, form.get("reason") or None)
    if ui.alias_moved is not None:
        await ui.alias_moved(name)
    return _see(request, "model", name=name)


async def sign_in(request: Request, guard: Guard, out: Renderer) -> Response:
    """Keep the token from the login form in the cookie, or show the form again saying why."""
    form = await read_form(request)
    guard.check_post(request, form.get(CSRF_FIELD, ""))
    response = _see(request, "models")
    try:
        guard.sign_in(request, form.get("token", ""), response)
    except Unauthorized as error:
        return out.page(request, "login.html", 401, required=True, problem=str(error))
    return response


async def sign_out(request: Request, guard: Guard) -> Response:
    """Forget the cookie and go back to the login form."""
    await _checked_form(request, guard)
    response = _see(request, "login")
    guard.sign_out(request, response)
    return response


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (what the pages post); the last value of a repeated field wins."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TooLarge(f"a dashboard form is at most {MAX_FORM_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _checked_form(request: Request, guard: Guard) -> dict[str, str]:
    """The posted form, once the poster is signed in and posted from this site."""
    guard.require(request)
    form = await read_form(request)
    guard.check_post(request, form.get(CSRF_FIELD, ""))
    return form


def _field(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise InvalidInput(f"the form needs {name!r}")
    return value


def _see(request: Request, route: str, **params: str) -> RedirectResponse:
    return RedirectResponse(link(request, route, **params), status_code=SEE_OTHER)
