"""The Python environment a version records at registration (see ``compat.py`` for the
comparison with the environment that loads it)."""

from __future__ import annotations

import platform


def python_version() -> str:
    """The running interpreter's version, as recorded in metadata."""
    return platform.python_version()
