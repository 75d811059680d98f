"""The flavor contract: what every framework module provides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ferry.flavors.declared import Declared
from ferry.flavors.tasks import Outputs


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


@dataclass(frozen=True)
class Description:
    """What a flavor learned about a model by running it on its input example."""

    task: str
    """One of :data:`ferry.flavors.tasks.TASKS`."""
    outputs: tuple[str, ...]
    """The names of what it answers (``predictions``, ``probabilities``, ...)."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Task facts for health and the protocols: ``classes``, ``n_clusters``, ``width``,
    ``confidence`` (how a clusterer's confidence is defined)."""


class Flavor(Protocol):
    """How one kind of model is saved, loaded, described and compiled.

    Nothing outside ``ferry.flavors`` names a flavor: the registry, the loader, the compiler
    and the CLI ask the flavor that :func:`ferry.flavors.flavor_for` (an object),
    :func:`~ferry.flavors.flavor_named` (a stored version) or
    :func:`~ferry.flavors.flavor_for_file` (a file) picks.
    """

    name: str
    """Recorded in each version's metadata as ``flavor``."""
    suffixes: tuple[str, ...]
    """The model-file suffixes :meth:`read` takes (``.skops``, ``.onnx`` ...)."""

    def accepts(self, model: object) -> bool:
        """True when this flavor can save ``model``."""
        ...

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        """A model object from a file a user brings to ``ferry register``."""
        ...

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        """Write ``model`` into ``directory``; return the files written and its description."""
        ...

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> Any:
        """The native predictor, rebuilt from bytes whose hashes the caller has checked."""
        ...

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        """The model's task, outputs and facts, and its answer on ``example`` (the proof that
        the two fit); ``declared`` is what the user said (an ONNX file's task and output
        names). Raises :class:`ferry.errors.Unsupported` naming a kind it cannot serve."""
        ...

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """The model as an ONNX graph taking ``input_example``'s rows as one tensor; None when
        this flavor has no ONNX form, :class:`ferry.errors.Unsupported` saying why when this
        model cannot be converted."""
        ...


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


def model_files(loader: Mapping[str, Any]) -> tuple[str, ...]:
    """The files a flavor's ``load`` needs: ``loader["file"]`` and any ``loader["files"]``
    beside it (a text model's ``tokenizer.json``)."""
    return (str(loader["file"]), *(str(name) for name in loader.get("files", ())))
