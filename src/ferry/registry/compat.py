"""Can this process load a version? Its recorded libraries against the installed ones.

Libraries change their on-disk formats between minor releases, so a *native* backend (the
framework's own loader: skops, joblib, pickle) needs the same ``major.minor`` of every library
the version recorded at registration; patch releases are accepted. An *ONNX* backend needs
none of them: only an onnxruntime that implements the operator sets (opsets) the graph
declares. :func:`compare` builds the table; :func:`check` applies a ``FERRY_COMPAT`` mode to it.
Registry.load, the serving loader and ``ferry compat`` all go through these two functions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ferry.config import COMPAT_MODES
from ferry.errors import CompatibilityError, CompatibilityWarning, InvalidInput
from ferry.flavors.base import installed_version
from ferry.registry.opsets import declared_opsets

MODES = COMPAT_MODES
"""``FERRY_COMPAT``: refuse a mismatch, serve it with a warning, or do not compare at all."""

BLOCKING = ("mismatch", "missing", "unsupported")
"""Verdicts that make a version unsafe to load with this backend."""

RUNTIME = "onnxruntime"
_OPSET_PREFIX = "opset "


@dataclass(frozen=True)
class LibraryCheck:
    """One row: a library (or an ONNX opset domain), recorded vs installed, and the verdict.

    Verdicts: ``ok``; ``mismatch`` (another major.minor); ``missing`` (not installed);
    ``unsupported`` (an opset newer than the runtime implements); ``unknown`` (cannot tell);
    ``not needed`` (recorded, but this backend does not use it).
    """

    library: str
    recorded: str | None
    installed: str | None
    verdict: str

    @property
    def blocking(self) -> bool:
        """True when loading with this row's library is unsafe."""
        return self.verdict in BLOCKING

    def problem(self) -> str:
        """What is wrong, naming both versions."""
        if self.verdict == "missing":
            return f"{self.library} {self.recorded} recorded, not installed"
        if self.verdict == "unsupported":
            return (
                f"{self.library} {self.recorded} recorded, onnxruntime "
                f"{installed_version(RUNTIME)} implements up to {self.installed}"
            )
        return f"{self.library} {self.recorded} recorded, {self.installed} installed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for health and ``ferry compat --json``."""
        return {
            "library": self.library,
            "recorded": self.recorded,
            "installed": self.installed,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Compatibility:
    """A version's libraries compared with this process's, for the backend that loads it."""

    reference: str
    backend: str
    mode: str
    libraries: tuple[LibraryCheck, ...]

    @property
    def compatible(self) -> bool:
        """True when no row blocks (always, when the mode is ``off``)."""
        return not any(check.blocking for check in self.libraries)

    def message(self) -> str | None:
        """One sentence naming every blocking library, both versions, and the fixes."""
        problems = [check for check in self.libraries if check.blocking]
        if not problems:
            return None
        found = "; ".join(check.problem() for check in problems)
        return (
            f"{self.reference} was saved with other libraries than this {self.backend} backend "
            f"has: {found}. Fix: {self._fix(problems)}, or set FERRY_COMPAT=warn to load it anyway"
        )

    def _fix(self, problems: list[LibraryCheck]) -> str:
        opsets = [check for check in problems if check.library.startswith(_OPSET_PREFIX)]
        libraries = [check for check in problems if check not in opsets]
        fixes = []
        if libraries:
            pins = " ".join(f'"{c.library}=={_major_minor_text(c.recorded)}.*"' for c in libraries)
            fixes.append(f"pip install {pins}")
        if self.backend == "native":
            fixes.append(
                f"serve its compiled ONNX (`ferry compile {self.reference}` where those versions "
                "are installed, into this server's FERRY_CACHE_DIR)"
            )
        if opsets:
            fixes.append(
                "upgrade onnxruntime, or export the model again with a target opset of at most "
                + ", ".join(f"{c.installed} ({c.library[len(_OPSET_PREFIX) :]})" for c in opsets)
            )
        return ", or ".join(fixes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``/model/health``."""
        return {
            "mode": self.mode,
            "backend": self.backend,
            "compatible": self.compatible,
            "warning": self.message(),
            "libraries": [check.to_dict() for check in self.libraries],
        }

    def rows(self) -> list[dict[str, Any]]:
        """One ``ferry compat`` row per library: model version, backend, library, verdict."""
        return [
            {"model": self.reference, "backend": self.backend, **check.to_dict()}
            for check in self.libraries
        ]


def backend_of(metadata: Mapping[str, Any]) -> str:
    """The backend that loads a version by itself: ``onnx`` when the file it loads from is an
    ONNX graph (whatever framework trained it, e.g. a network exported at registration), else
    ``native``, the framework's own loader."""
    model_file = str((metadata.get("loader") or {}).get("file", ""))
    is_graph = metadata.get("framework") == "onnx" or model_file.endswith(".onnx")
    return "onnx" if is_graph else "native"


def compare(
    reference: str,
    metadata: Mapping[str, Any],
    *,
    backend: str | None = None,
    graph: bytes | None = None,
    mode: str = "strict",
) -> Compatibility:
    """The table of ``metadata``'s recorded libraries against the installed ones.

    ``backend`` defaults to :func:`backend_of`; ``graph`` (the ONNX bytes an ONNX backend
    runs) gives the opsets to check, else those recorded at registration are used.
    """
    check_mode(mode)
    chosen = backend or backend_of(metadata)
    recorded: Mapping[str, str] = metadata.get("dependencies") or {}
    if mode == "off":
        return Compatibility(reference, chosen, mode, ())
    if chosen == "onnx":
        rows = _onnx_rows(recorded, _opsets(metadata, graph))
    else:
        rows = tuple(_library_row(name, version) for name, version in sorted(recorded.items()))
    return Compatibility(reference, chosen, mode, rows)


def check(
    reference: str,
    metadata: Mapping[str, Any],
    mode: str,
    *,
    backend: str | None = None,
    graph: bytes | None = None,
) -> Compatibility:
    """:func:`compare`, then refuse with :class:`CompatibilityError` when ``mode`` is strict.

    In ``warn`` mode the caller decides how to warn (a server logs and shows it in health);
    the report's :meth:`Compatibility.message` says what to.
    """
    report = compare(reference, metadata, backend=backend, graph=graph, mode=mode)
    message = report.message()
    if message is not None and mode == "strict":
        raise CompatibilityError(message)
    return report


def warn_python(report: Compatibility) -> None:
    """Raise a :class:`CompatibilityWarning` for Python API callers (``Registry.load``)."""
    message = report.message()
    if message is not None:
        warnings.warn(message, CompatibilityWarning, stacklevel=3)


def check_mode(mode: str) -> str:
    """``mode`` when it is one of :data:`MODES`, else :class:`InvalidInput` listing them."""
    if mode not in MODES:
        raise InvalidInput(f"FERRY_COMPAT={mode!r}: choose one of {', '.join(MODES)}")
    return mode


def _library_row(name: str, recorded: str) -> LibraryCheck:
    installed = installed_version(name)
    if installed is None:
        return LibraryCheck(name, recorded, None, "missing")
    same = _major_minor(installed) == _major_minor(recorded)
    return LibraryCheck(name, recorded, installed, "ok" if same else "mismatch")


def _onnx_rows(recorded: Mapping[str, str], opsets: Mapping[str, int]) -> tuple[LibraryCheck, ...]:
    """onnxruntime itself, one row per opset domain the graph declares, the rest not needed."""
    runtime = installed_version(RUNTIME)
    rows = [LibraryCheck(RUNTIME, recorded.get(RUNTIME), runtime, "ok" if runtime else "missing")]
    supported = supported_opsets() if runtime else {}
    for domain, version in sorted(opsets.items()):
        highest = supported.get(domain)
        if highest is None:
            verdict = "unknown" if runtime else "missing"
        else:
            verdict = "ok" if version <= highest else "unsupported"
        shown = None if highest is None else str(highest)
        rows.append(LibraryCheck(_OPSET_PREFIX + domain, str(version), shown, verdict))
    rows += [
        LibraryCheck(name, version, installed_version(name), "not needed")
        for name, version in sorted(recorded.items())
        if name != RUNTIME
    ]
    return tuple(rows)


def _opsets(metadata: Mapping[str, Any], graph: bytes | None) -> dict[str, int]:
    """The graph's opset per domain (``ai.onnx``, ``ai.onnx.ml``...), read from ``graph``
    when given, else as recorded at registration."""
    if graph is not None:
        return declared_opsets(graph)
    recorded = (metadata.get("hyperparameters") or {}).get("opsets") or {}
    return {str(domain): int(version) for domain, version in recorded.items()}


@cache
def supported_opsets() -> dict[str, int]:
    """The highest opset of each domain this onnxruntime implements (its operator schemas)."""
    try:
        from onnxruntime.capi import _pybind_state
    except ImportError:
        return {}
    highest: dict[str, int] = {}
    for schema in _pybind_state.get_all_operator_schema():
        domain = schema.domain or "ai.onnx"
        highest[domain] = max(highest.get(domain, 0), int(schema.since_version))
    return highest


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _major_minor_text(version: str | None) -> str:
    return ".".join(_major_minor(version or "0"))
