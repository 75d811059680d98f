"""What the dashboard reads and acts on, handed in by whoever starts it (``ferry ui`` or
``ferry serve``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ferry.errors import Unsupported
from ferry.registry.registry import Registry

if TYPE_CHECKING:
    from ferry.ui.live import LiveSnapshot
    from ferry.ui.recent import RecentPage


class RunStarter(Protocol):
    """Starts a model's pipeline in the background (what ``POST /train`` uses)."""

    def start(self, model: str, force: bool = False) -> str: ...


class LiveFigures(Protocol):
    """The serving process's own figures, for the Models and Live pages."""

    def status(self) -> dict[str, str]: ...

    def snapshot(self) -> LiveSnapshot: ...

    def recent(self, page: int) -> RecentPage: ...


@dataclass(frozen=True)
class Dashboard:
    """The registry (None for a baked bundle), the trainer, the token and, inside ``ferry
    serve``, its live figures and the hook that swaps a served alias at once."""

    registry: Registry | None
    trainer: RunStarter | None = None
    token: str | None = None
    live: LiveFigures | None = None
    alias_moved: Callable[[str], Awaitable[None]] | None = None

    def need_registry(self) -> Registry:
        """The registry, or :class:`Unsupported` on a server of a baked bundle."""
        if self.registry is None:
            raise Unsupported(
                "this server serves a baked bundle, which has no registry: open the dashboard "
                "with `ferry ui` where the registry is"
            )
        return self.registry

    def need_live(self) -> LiveFigures:
        """The serving figures, or :class:`Unsupported` outside ``ferry serve``."""
        if self.live is None:
            raise Unsupported("the Live page shows a server's figures: open /ui of `ferry serve`")
        return self.live

    def need_trainer(self) -> RunStarter:
        """The trainer, or :class:`Unsupported` when this process cannot train."""
        if self.trainer is None:
            raise Unsupported("training is not enabled here: start `ferry ui` or `ferry serve`")
        return self.trainer
