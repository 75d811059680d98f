"""How each kind of model is saved, loaded, described and compiled.

One module per framework behind one contract (:class:`Flavor`); the three functions below are
the only places that pick one: :func:`flavor_for` for a model object, :func:`flavor_named` for a
stored version, :func:`flavor_for_file` for a file a user brings.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, Flavor, Predictor, SavedModel

ONNX_ROUTE = "export it to ONNX (tf2onnx, torch.onnx, ...) and register the .onnx file"
"""The supported route for a framework ferry has no flavor for."""


@functools.cache
def flavors() -> tuple[Flavor, ...]:
    """Every flavor, in the order :func:`flavor_for` asks them (the boosting libraries' wrappers
    look like scikit-learn estimators, so their own flavors ask first; a sentence encoder is a
    torch module, so its flavor asks before torch's).

    Imported at first use, not with the package: a server answering from its compiled cache
    needs only ``flavors.tasks`` and ``flavors.onnx``, and the flavor modules were a tenth of
    its imports before the first answer."""
    from ferry.flavors.lightgbm import LightgbmFlavor
    from ferry.flavors.onnx import OnnxFlavor
    from ferry.flavors.sentences import SentencesFlavor
    from ferry.flavors.sklearn import SklearnFlavor
    from ferry.flavors.torch import TorchFlavor
    from ferry.flavors.xgboost import XgboostFlavor

    return (
        XgboostFlavor(),
        LightgbmFlavor(),
        SklearnFlavor(),
        OnnxFlavor(),
        SentencesFlavor(),
        TorchFlavor(),
    )


def __getattr__(name: str) -> Any:
    """``FLAVORS``, every flavor (see :func:`flavors`), built when first asked for."""
    if name == "FLAVORS":
        return flavors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def flavor_for(model: object) -> Flavor:
    """The flavor that can save ``model``; raises :class:`Unsupported` when none can."""
    for flavor in flavors():
        if flavor.accepts(model):
            return flavor
    raise Unsupported(
        f"cannot register a {type(model).__module__}.{type(model).__qualname__}: ferry saves "
        f"scikit-learn estimators and Pipelines, XGBoost and LightGBM models, PyTorch modules, "
        f"sentence-transformers encoders and ONNX models (onnx.ModelProto); {ONNX_ROUTE}"
    )


def flavor_named(name: str) -> Flavor:
    """The flavor a stored version was saved with."""
    try:
        return _by_name()[name]
    except KeyError:
        raise InvalidInput(
            f"unknown flavor {name!r}; this ferry knows {sorted(_by_name())}"
        ) from None


@functools.cache
def _by_name() -> dict[str, Flavor]:
    return {flavor.name: flavor for flavor in flavors()}


def flavor_for_file(path: Path) -> Flavor:
    """The flavor that reads a model file, by its suffix."""
    suffix = path.suffix.lower()
    for flavor in flavors():
        if suffix in flavor.suffixes:
            return flavor
    known = [suffix for flavor in flavors() for suffix in flavor.suffixes]
    raise InvalidInput(
        f"cannot register {path.name}: use a {', '.join(known[:-1])} or {known[-1]} file; for "
        f"a model of another framework (Keras .h5/.keras, PyTorch .pt, ...), {ONNX_ROUTE}"
    )


__all__ = [
    "FLAVORS",
    "Description",
    "Flavor",
    "Predictor",
    "SavedModel",
    "flavor_for",
    "flavor_for_file",
    "flavor_named",
    "flavors",
]
