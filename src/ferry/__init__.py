"""ferry: carry machine-learning models from training to production and keep them healthy."""

from __future__ import annotations

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
from ferry.registry.loaded import LoadedModel
from ferry.registry.refs import ModelRef
from ferry.registry.registry import ModelVersion, Registry

__version__ = "0.1.0"

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
