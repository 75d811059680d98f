"""How each kind of model is saved, loaded and described.

One module per framework; :func:`flavor_for` picks the implementation for a model object and
:func:`flavor_named` for a stored version.
"""

from __future__ import annotations

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Flavor, Predictor, SavedModel
from ferry.flavors.onnx import OnnxFlavor
from ferry.flavors.sklearn import SklearnFlavor

_FLAVORS: dict[str, Flavor] = {flavor.name: flavor for flavor in (SklearnFlavor(), OnnxFlavor())}


def flavor_for(model: object) -> Flavor:
    """The flavor that can save ``model``; raises :class:`Unsupported` when none can."""
    for flavor in _FLAVORS.values():
        if flavor.accepts(model):
            return flavor
    raise Unsupported(
        f"cannot register a {type(model).__module__}.{type(model).__qualname__}: ferry saves "
        "scikit-learn estimators and Pipelines, and ONNX models (onnx.ModelProto)"
    )


def flavor_named(name: str) -> Flavor:
    """The flavor a stored version was saved with."""
    try:
        return _FLAVORS[name]
    except KeyError:
        raise InvalidInput(
            f"unknown flavor {name!r}; this ferry knows {sorted(_FLAVORS)}"
        ) from None


__all__ = ["Flavor", "Predictor", "SavedModel", "flavor_for", "flavor_named"]
