"""ferry: carry machine-learning models from training to production and keep them healthy.

The registry's names load on first use (PEP 562): ``import ferry.serving...`` in a server that
starts from its cache must not pay for SQLAlchemy, which ``Registry`` needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ferry.errors import (
    AlreadyExists,
    CompatibilityError,
    CompatibilityWarning,
    Conflict,
    FerryError,
    IntegrityError,
    InvalidInput,
    NotFound,
    NotReady,
    Unsupported,
)

if TYPE_CHECKING:
    from ferry.registry.loaded import LoadedModel
    from ferry.registry.refs import ModelRef
    from ferry.registry.registry import Registry
    from ferry.registry.version import ModelVersion

__version__ = "0.1.0"

_LAZY = {
    "LoadedModel": "ferry.registry.loaded",
    "ModelRef": "ferry.registry.refs",
    "ModelVersion": "ferry.registry.version",
    "Registry": "ferry.registry.registry",
}

__all__ = [
    "AlreadyExists",
    "CompatibilityError",
    "CompatibilityWarning",
    "Conflict",
    "FerryError",
    "IntegrityError",
    "InvalidInput",
    "LoadedModel",
    "ModelRef",
    "ModelVersion",
    "NotFound",
    "NotReady",
    "Registry",
    "Unsupported",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import a registry name when it is first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ferry' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
