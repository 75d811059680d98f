"""Does this Python environment match the one a version was saved in?

Libraries that change their on-disk formats do so between minor releases, so a different
``major.minor`` is worth a warning (or a refusal when loading strictly); patch releases are not.
"""

from __future__ import annotations

import platform
import warnings
from collections.abc import Mapping

from ferry.errors import CompatibilityError, CompatibilityWarning
from ferry.flavors.base import installed_version


def python_version() -> str:
    """The running interpreter's version, as recorded in metadata."""
    return platform.python_version()


def mismatches(dependencies: Mapping[str, str]) -> list[str]:
    """One line per recorded library whose installed major.minor differs or which is absent."""
    problems = []
    for name, recorded in sorted(dependencies.items()):
        installed = installed_version(name)
        if installed is None:
            problems.append(f"{name} {recorded} is not installed")
        elif _major_minor(installed) != _major_minor(recorded):
            problems.append(f"{name} was {recorded}, installed is {installed}")
    return problems


def check_environment(reference: str, dependencies: Mapping[str, str], strict: bool) -> None:
    """Warn about (or, when ``strict``, refuse) a model saved with other library versions."""
    problems = mismatches(dependencies)
    if not problems:
        return
    message = f"{reference} was saved with other library versions: " + "; ".join(problems)
    if strict:
        raise CompatibilityError(message + " (load without strict=True to accept the risk)")
    warnings.warn(message, CompatibilityWarning, stacklevel=3)


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
