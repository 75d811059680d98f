"""What a caller without the API token may read: no filesystem path of the registry, no URL
with credentials, no secret.

A model that fails to load says why (``No such file: /srv/ferry/models/churn/v1.2.0/...``), and
that reason travels into ``/model/health`` and into 503 and 4xx bodies. The server's log keeps
every detail; answers keep the reason and drop the location: the registry's folders (home,
cache, prediction log, artifact store) become ``<path>``, URLs with a user or password become
``<url>``, and configured secrets become ``<secret>``. A caller presenting the token, when one
is set, reads health and errors unredacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.errors import Unauthorized
from ferry.serving.admin import authorise
from ferry.serving.bundle import Bundle
from ferry.serving.server import ModelServer

REVEALING_PATHS = frozenset({"/model/health"})
"""Successful answers that carry load errors and locations, redacted like error bodies."""
_END = r"(?:[^\s'\"]*[^\s'\",.:;)])?"  # the rest of a path or URL, not its closing punctuation
_CREDENTIALED_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/'\"@]*@" + _END)
_SECRET_KEYS = ("key", "secret", "token", "password")


class Disclosure:
    """Redacts the registry's locations and secrets from text and JSON values."""

    def __init__(self, locations: Iterable[str], secrets: Iterable[str] = ()) -> None:
        roots = sorted({root.rstrip("/") for root in locations if len(root) > 1}, key=len)
        patterns = [re.escape(root) + _END for root in reversed(roots)]  # longest first
        self._locations = re.compile("|".join(patterns)) if patterns else None
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    @classmethod
    def of(cls, server: ModelServer) -> Disclosure:
        """The locations and secrets of a server's registry (or bundle) and settings."""
        registry = server.source.settings
        cache = server.settings.cache_dir or registry.home / "cache"
        paths = [registry.home, Path(cache)]
        if isinstance(server.source, Bundle):
            paths.append(server.source.root)
        locations = [str(p) for p in paths] + [str(p.resolve()) for p in paths]
        locations += [registry.log_url, registry.artifacts_url, registry.catalog_url]
        secrets = [
            str(value)
            for key, value in registry.storage_options.items()
            if any(word in key.lower() for word in _SECRET_KEYS)
        ]
        return cls(locations, [*secrets, server.settings.api_token or ""])

    def redact(self, text: str) -> str:
        """``text`` without secrets, credentialed URLs or the registry's locations."""
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        text = _CREDENTIALED_URL.sub("<url>", text)
        if self._locations is not None:
            text = self._locations.sub(_placeholder, text)
        return text

    def redact_all(self, value: Any) -> Any:
        """A JSON value with every string (keys included) redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_all(item) for item in value]
        return value


def _placeholder(match: re.Match[str]) -> str:
    return "<path>" if match.group(0).startswith("/") or ":" not in match.group(0) else "<url>"


def reveals(server: ModelServer) -> Callable[[Request], bool]:
    """Who may read unredacted answers: a caller presenting the token, when one is set."""

    def check(request: Request) -> bool:
        if server.settings.api_token is None:
            return False
        try:
            authorise(server, request)
        except Unauthorized:
            return False
        return True

    return check


class RedactBodies:
    """ASGI middleware: JSON error bodies and health answers pass through a :class:`Disclosure`.

    Done once here rather than in each route, so an error raised anywhere (today's routes and
    tomorrow's) cannot carry a location out.
    """

    def __init__(
        self, app: ASGIApp, disclosure: Disclosure, reveal: Callable[[Request], bool]
    ) -> None:
        self.app = app
        self.disclosure = disclosure
        self.reveal = reveal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def redacting(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                # the token is checked only for answers that need it, not for every prediction
                if self._concerns(scope["path"], message) and not self.reveal(Request(scope)):
                    start = message
                else:
                    await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_redacted(start, b"".join(chunks), send)

        await self.app(scope, receive, redacting)

    @staticmethod
    def _concerns(path: str, start: Message) -> bool:
        """Error answers and health, when they are JSON."""
        headers = Headers(raw=start.get("headers", []))
        is_json = headers.get("content-type", "").startswith("application/json")
        return is_json and (start["status"] >= 400 or path in REVEALING_PATHS)

    async def _send_redacted(self, start: Message, body: bytes, send: Send) -> None:
        try:
            redacted = orjson.dumps(self.disclosure.redact_all(orjson.loads(body)))
        except orjson.JSONDecodeError:
            redacted = self.disclosure.redact(body.decode("utf-8", "replace")).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(redacted)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": redacted, "more_body": False})
