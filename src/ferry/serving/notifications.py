"""Alias moves announced by PostgreSQL (LISTEN/NOTIFY), so a swap need not wait for a poll.

The catalog sends ``name@alias`` on :data:`ALIAS_CHANNEL` inside the transaction that moves the
alias, so the notice arrives only once the move is committed. Polling stays on as the fallback:
a lost connection costs at most one poll interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

from ferry.registry.catalog_session import ALIAS_CHANNEL

log = logging.getLogger("ferry.serving")


class AliasListener:
    """A thread that LISTENs on the catalog and calls ``on_move(model_name)`` for each notice.

    ``on_listening`` is called each time LISTEN is in place (at start and after a reconnect): a
    move committed before that was announced to nobody, so the caller checks every alias once.
    """

    def __init__(
        self,
        catalog_url: str,
        on_move: Callable[[str], object],
        on_listening: Callable[[], object] = lambda: None,
    ) -> None:
        url = make_url(catalog_url)
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_move = on_move
        self._on_listening = on_listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ferry-listen", daemon=True)

    def start(self) -> None:
        """Begin listening in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop within about a second."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as error:  # reconnect; polling covers the gap
                log.warning("alias notifications interrupted (%s); polling continues", error)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {ALIAS_CHANNEL}")
            self._on_listening()
            while not self._stop.is_set():
                for notice in connection.notifies(timeout=0.5):
                    self._on_move(notice.payload.split("@", 1)[0])
