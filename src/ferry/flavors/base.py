"""The flavor contract: what every framework module provides."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np


class Predictor(Protocol):
    """What a loaded model can do; ``predict_proba`` is ``None`` when the model has none."""

    def predict(self, inputs: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class SavedModel:
    """What a flavor wrote into the staging folder and what it learned about the model."""

    files: tuple[str, ...]
    framework: str
    framework_version: str
    serialization: str
    dependencies: dict[str, str]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    loader: dict[str, Any] = field(default_factory=dict)
    """Flavor-specific facts needed to load the files again (e.g. trusted skops types)."""


class Flavor(ABC):
    """Saves one kind of model into a folder and loads it back from verified bytes."""

    name: ClassVar[str]

    @abstractmethod
    def accepts(self, model: object) -> bool:
        """True when this flavor can save ``model``."""

    @abstractmethod
    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        """Write ``model`` into ``directory``; return the files written and its description."""

    def predictor(self, model: Any, directory: Path) -> Predictor:
        """Something that predicts like the saved model, to describe its outputs."""
        predictor: Predictor = model
        return predictor

    @abstractmethod
    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> Predictor:
        """Rebuild the model from bytes whose hashes the caller has already checked."""


@cache
def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None; cached because lookups cost ~1 ms."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions_of(distributions: Iterable[str]) -> dict[str, str]:
    """``{distribution: version}`` for those installed, sorted by name."""
    found = {name: installed_version(name) for name in distributions}
    return {name: version for name, version in sorted(found.items()) if version is not None}
