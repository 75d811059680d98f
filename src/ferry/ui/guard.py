"""Who may use the dashboard: the API token kept in a cookie, and forms that other sites cannot
post.

With ``FERRY_API_TOKEN`` set, a login form stores the token in an ``HttpOnly``,
``SameSite=Strict`` cookie (scripts cannot read it, other sites' requests do not carry it) and
every page needs it. Every form, token or not, carries a CSRF value derived from this process's
secret and the cookie; a POST without it, or with an ``Origin`` that is not this server, is refused.
That matters even without a token: a page on another site must not be able to make a browser on
this machine train or promote.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from ferry.errors import Forbidden, Unauthorized

COOKIE = "ferry_token"
CSRF_FIELD = "csrf"


class Guard:
    """Checks sign-in and cross-site posts for one dashboard app."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._secret = secrets.token_bytes(32)

    @property
    def required(self) -> bool:
        """Whether pages need a sign-in (a token is configured)."""
        return self.token is not None

    def signed_in(self, request: Request) -> bool:
        """True without a token, else when the cookie holds it (constant-time comparison)."""
        if self.token is None:
            return True
        given = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def require(self, request: Request) -> None:
        """Refuse with :class:`Unauthorized` until signed in."""
        if not self.signed_in(request):
            raise Unauthorized("sign in with the API token (FERRY_API_TOKEN) first")

    def csrf(self, request: Request) -> str:
        """The value every form of this page carries: bound to this process and the cookie."""
        cookie = request.cookies.get(COOKIE, "")
        return hmac.new(self._secret, cookie.encode(), hashlib.sha256).hexdigest()

    def check_post(self, request: Request, given: str) -> None:
        """Refuse (:class:`Forbidden`) a POST from another site: foreign Origin or wrong CSRF."""
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != own:
            raise Forbidden(f"refusing a form posted from {origin!r}: only {own} may post here")
        if not hmac.compare_digest(given.encode(), self.csrf(request).encode()):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and retry")

    def sign_in(self, request: Request, given: str, response: Response) -> None:
        """Check the token typed into the login form and keep it in the cookie."""
        if self.token is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Unauthorized("that is not the API token: check FERRY_API_TOKEN")
        response.set_cookie(
            COOKIE,
            given,
            path=_cookie_path(request),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def sign_out(self, request: Request, response: Response) -> None:
        """Forget the cookie."""
        response.delete_cookie(COOKIE, path=_cookie_path(request), httponly=True, samesite="strict")


def _cookie_path(request: Request) -> str:
    """The dashboard's own prefix (``/ui`` inside ``ferry serve``), so the cookie stays there."""
    return request.scope.get("root_path") or "/"
