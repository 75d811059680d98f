"""Turning page values into HTML: the Jinja2 templates shipped in ``templates/``, their filters,
and the error page every failure becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ferry.errors import (
    Conflict,
    FerryError,
    Forbidden,
    IntegrityError,
    NotFound,
    NotReady,
    RunInProgress,
    TooLarge,
    Unauthorized,
    Unsupported,
)
from ferry.ui.charts import bar_chart, distribution_chart, line_chart
from ferry.ui.guard import CSRF_FIELD, Guard

TEMPLATES = Path(__file__).with_name("templates")
HEADERS = {
    # Everything comes from this server; no inline script, no framing (clickjacking on buttons).
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}

_STATUS: tuple[tuple[type[FerryError], int], ...] = (
    (TooLarge, 413), (Forbidden, 403), (Unauthorized, 401), (NotFound, 404), (Conflict, 409),
    (IntegrityError, 409), (NotReady, 503), (Unsupported, 422),
)  # fmt: skip


class Renderer:
    """Renders a template with what every page needs: the request, the CSRF field, filters."""

    def __init__(self, guard: Guard, live: bool) -> None:
        self.guard = guard
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,  # a misspelt name fails the test, not silently blanks
        )
        self.env.filters.update(
            when=when, size=size, number=number, metrics=metrics_text, percent=percent, age=age
        )
        self.env.globals.update(
            line_chart=lambda *a, **k: Markup(line_chart(*a, **k)),
            bar_chart=lambda *a, **k: Markup(bar_chart(*a, **k)),
            distribution_chart=lambda *a, **k: Markup(distribution_chart(*a, **k)),
        )
        self.env.globals["has_live"] = live

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """The named template as a response."""

        def path(route: str, /, **params: Any) -> str:
            return link(request, route, **params)

        csrf = Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{self.guard.csrf(request)}">'
        )
        html = self.env.get_template(template).render(
            request=request,
            path=path,
            csrf_field=csrf,
            signed_in=self.guard.required and self.guard.signed_in(request),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def error(self, request: Request, error: Exception) -> HTMLResponse:
        """A page saying what went wrong and what to do, with the matching status code."""
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 422)
        run_id = error.run_id if isinstance(error, RunInProgress) else None
        return self.page(request, "error.html", status, message=str(error), run_id=run_id)


def link(request: Request, route: str, /, **params: Any) -> str:
    """The path of one of the dashboard's routes, under wherever it is mounted (``/ui``).

    ``request.url_for`` would ask the outermost router, which inside ``ferry serve`` does not
    know the dashboard's route names; the dashboard's own app does.
    """
    own = request.scope["app"].url_path_for(route, **params)
    return f"{request.scope.get('root_path', '')}{own}"


def when(iso: str | None) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return "" if not iso else iso[:19].replace("T", " ")


def age(iso: str | None, now: datetime | None = None) -> str:
    """How long ago ``iso`` was, in its largest whole unit: ``45 s``, ``12 min``, ``5 h``, ``3 d``."""
    if not iso:
        return ""
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(iso)).total_seconds()
    seconds = max(seconds, 0.0)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{int(seconds // length)} {unit}"
    return f"{int(seconds)} s"


def size(count: int) -> str:
    """Bytes for people: ``12.3 KB``."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def number(value: float | None) -> str:
    """Four significant digits, or a dash."""
    return "\u2013" if value is None else f"{value:.4g}"


def percent(value: float | None) -> str:
    """``12.5 %`` or a dash."""
    return "\u2013" if value is None else f"{100 * value:.1f} %"


def metrics_text(values: dict[str, float] | None) -> str:
    """``accuracy=0.958 f1=0.967``."""
    return " ".join(f"{name}={value:.4g}" for name, value in sorted((values or {}).items()))
