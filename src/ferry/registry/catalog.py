"""The SQL catalog: which versions exist, where aliases point, and every move they made.

SQLite (WAL, ``BEGIN IMMEDIATE`` for writes, a busy timeout) is the embedded default;
PostgreSQL serves shared deployments, where a write locks its model's row. Either way a
writer holds the model's lock for the whole transaction, so version numbers are allocated
without collisions and a version becomes visible only when its row commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from ferry.errors import InvalidInput
from ferry.registry.catalog_session import CatalogSession

SCHEMA_REVISION = "0006"
"""The newest migration; checked on open so the common case never imports Alembic."""

_WRITE = "ferry_write"
_BUSY_TIMEOUT_MS = 60_000


def utcnow() -> str:
    """The current time as an ISO-8601 UTC string (sortable, readable, portable)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Catalog:
    """Opens the catalog database, keeps its schema current and hands out sessions."""

    def __init__(self, url: str) -> None:
        self.url = _normalise(url)
        self.engine = _create_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._ensure_schema()

    @contextmanager
    def reading(self) -> Iterator[CatalogSession]:
        """A read-only session (a plain transaction; SQLite readers never block in WAL)."""
        with self.engine.connect() as connection, connection.begin():
            yield CatalogSession(connection)

    @contextmanager
    def writing(self, model_name: str | None = None) -> Iterator[CatalogSession]:
        """A write transaction holding ``model_name``'s lock (creating the model row)."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with connection.begin():
                session = CatalogSession(connection)
                if model_name is not None:
                    session.lock_model(model_name, utcnow())
                yield session

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def _ensure_schema(self) -> None:
        with self.engine.connect() as connection, connection.begin():
            if _revision(connection) == SCHEMA_REVISION:
                return
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(74217001)"))
                if _revision(connection) != SCHEMA_REVISION:
                    _upgrade(connection)


def _normalise(url: str) -> str:
    """Accept ``postgresql://`` for ``postgresql+psycopg://`` (the driver ferry installs)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as error:
        raise InvalidInput(f"invalid catalog URL {url!r}: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise InvalidInput(f"unsupported catalog {url!r}: use sqlite:///PATH or postgresql://...")


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and explicit BEGIN so that writers take the lock up front."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _revision(connection: Connection) -> str | None:
    """The catalog's migration revision, or None for an empty database."""
    try:
        with connection.begin_nested():
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return None
    return None if row is None else str(row[0])


def _upgrade(connection: Connection) -> None:
    """Run Alembic's migrations on ``connection``, inside the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
