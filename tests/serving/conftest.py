"""A served registry, in process: the app, its ASGI client, and the server behind it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from sklearn.base import clone

from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.app import create_app
from ferry.serving.server import ModelServer

SETTINGS = ServingSettings(models=("cancer@production",), warmup_iterations=3, poll_interval=3600.0)


@pytest.fixture
def cancer_registry(sqlite_registry: Registry, pipeline, cancer) -> Registry:
    sqlite_registry.register(pipeline, "cancer", input_example=cancer[0])
    sqlite_registry.set_alias("cancer", "production", "1.0.0")
    return sqlite_registry


@asynccontextmanager
async def serving(
    registry: Registry, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, ModelServer]]:
    """Start the app's lifespan, wait for the first loads, and hand out a client."""
    server = ModelServer(dataclasses.replace(SETTINGS, **overrides), registry, clock=clock)
    app = create_app(server)
    async with app.router.lifespan_context(app):
        await server.first_loads()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
            yield client, server


@pytest.fixture
def serve(cancer_registry: Registry) -> Callable[..., Any]:
    def start(**overrides: Any) -> Any:
        return serving(cancer_registry, **overrides)

    return start


@pytest.fixture
def serve_registry() -> Callable[..., Any]:
    """Serve any registry: ``async with serve_registry(registry, models=(...)) as (client, server)``."""
    return serving


@pytest.fixture
def registries(tmp_path, catalog_url, pipeline, cancer) -> Iterator[tuple[Registry, Registry]]:
    """Two replicas' registries on one catalog (each backend): a primary nearly always wrong,
    a good candidate (``tests/serving/replicas.py`` serves them)."""
    X, y = cancer
    with (
        Registry(home=tmp_path / "home", catalog=catalog_url) as one,
        Registry(home=tmp_path / "home", catalog=catalog_url) as two,
    ):
        one.register(clone(pipeline).fit(X, 1 - y), "cancer", input_example=X.head(20))
        one.set_alias("cancer", "production", "1.0.0")
        one.register(pipeline, "cancer", input_example=X.head(20))
        yield one, two
