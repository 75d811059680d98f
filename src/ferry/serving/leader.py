"""Leadership: which replica runs the rollout analysis.

On PostgreSQL, the one holding a session advisory lock on its own connection: when that process
dies (even by ``kill -9``) the server drops the connection, the lock is free, and the next
replica to ask takes it. On SQLite every replica is one machine's process and the catalog is
local: the process that asks leads.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ferry.registry.catalog import Catalog

log = logging.getLogger("ferry.serving")
LOCK_KEY = 74217002
"""The advisory lock the analysis leader holds (the schema lock is 74217001)."""


class Leadership:
    """Asks for, holds and gives back the analysis lock."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._connection: Connection | None = None

    def held(self) -> bool:
        """True when this process leads (taking the lock if it is free)."""
        if self.catalog.dialect != "postgresql":
            return True
        if self._connection is not None and self._alive(self._connection):
            return True
        from sqlalchemy import text

        self.release()
        connection = self.catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        log.info("this replica now leads the rollout analysis")
        self._connection = connection
        return True

    @property
    def leads(self) -> bool:
        """What the last :meth:`held` found, without asking the catalog (for health)."""
        return self.catalog.dialect != "postgresql" or self._connection is not None

    def release(self) -> None:
        """Give the lock back: the session ends (a pooled connection would keep holding it)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
                connection.close()

    @staticmethod
    def _alive(connection: Connection) -> bool:
        from sqlalchemy import text

        try:
            connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True
