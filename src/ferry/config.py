"""Typed settings, read once from ``FERRY_*`` variables and handed down.

Nothing here runs at import time: the CLI (or a user) calls :meth:`RegistrySettings.from_env`
and passes the result to the components that need it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.ferry")
"""Where the registry lives when neither an argument nor ``FERRY_HOME`` says otherwise."""


@dataclass(frozen=True)
class RegistrySettings:
    """Where the registry keeps its catalog and its artifacts."""

    home: Path
    catalog_url: str
    artifacts_url: str

    @classmethod
    def resolve(
        cls,
        home: str | Path | None = None,
        catalog: str | None = None,
        artifacts: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> RegistrySettings:
        """Explicit arguments win over ``FERRY_HOME``/``FERRY_CATALOG``/``FERRY_ARTIFACTS``."""
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get("FERRY_HOME") or DEFAULT_HOME).expanduser().resolve()
        catalog_url = catalog or env.get("FERRY_CATALOG") or f"sqlite:///{home_path / 'ferry.db'}"
        artifacts_url = artifacts or env.get("FERRY_ARTIFACTS") or str(home_path)
        return cls(home=home_path, catalog_url=catalog_url, artifacts_url=artifacts_url)
