"""scikit-learn estimators and Pipelines: skops by default, joblib or pickle on request.

scikit-learn is imported only when a model of this flavor is saved or loaded, so a process
that serves ONNX never pays for it.
"""

from __future__ import annotations

import io
import json
import math
import pickle
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ferry.errors import InvalidInput
from ferry.flavors.base import Flavor, Predictor, SavedModel, installed_version, versions_of

SERIALIZATIONS = {"skops": "model.skops", "joblib": "model.joblib", "pickle": "model.pkl"}
"""Each serialization and the file it writes; only skops is safe to load from untrusted bytes."""

_KNOWN_DISTRIBUTIONS = {"sklearn": "scikit-learn", "skops": "skops", "joblib": "joblib"}
_ALWAYS_NEEDED = ("scikit-learn", "numpy", "scipy")


class SklearnFlavor(Flavor):
    """Anything with scikit-learn's estimator contract (``get_params`` and ``predict``)."""

    name = "sklearn"

    def accepts(self, model: object) -> bool:
        return callable(getattr(model, "get_params", None)) and callable(
            getattr(model, "predict", None)
        )

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        serialization = serialization or "skops"
        if serialization not in SERIALIZATIONS:
            raise InvalidInput(
                f"unknown serialization {serialization!r}; choose one of {sorted(SERIALIZATIONS)}"
            )
        path = directory / SERIALIZATIONS[serialization]
        loader: dict[str, Any] = {"file": path.name}
        if serialization == "skops":
            loader["trusted_types"] = _dump_skops(model, path)
        elif serialization == "joblib":
            import joblib

            joblib.dump(model, path)
        else:
            path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        return SavedModel(
            files=(path.name,),
            framework="scikit-learn",
            framework_version=installed_version("scikit-learn") or "unknown",
            serialization=serialization,
            dependencies=versions_of({*_ALWAYS_NEEDED, *_distributions_of(model), serialization}),
            hyperparameters=hyperparameters_of(model),
            loader=loader,
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> Predictor:
        name = str(loader["file"])
        data = files[name]
        if name.endswith(".skops"):
            import skops.io

            model: Predictor = skops.io.loads(data, trusted=list(loader.get("trusted_types", [])))
            return model
        if name.endswith(".joblib"):
            import joblib

            loaded: Predictor = joblib.load(io.BytesIO(data))
            return loaded
        unpickled: Predictor = pickle.loads(data)
        return unpickled


def _dump_skops(model: Any, path: Path) -> list[str]:
    """Save with skops and return the types skops would not trust on its own.

    The model object came from the registering process itself, so its types are trusted;
    recording them lets :meth:`SklearnFlavor.load` accept exactly these types and no others,
    and only after the registry has checked the file's hash.
    """
    import skops.io

    skops.io.dump(model, path)
    return sorted(skops.io.get_untrusted_types(file=path))


def _walk(value: Any, depth: int = 0) -> Iterator[object]:
    """Every object inside an estimator's parameters (steps, nested estimators, callables)."""
    yield value
    if depth > 8:
        return
    if isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, depth + 1)
    elif callable(getattr(value, "get_params", None)) and not isinstance(value, type):
        for param in value.get_params(deep=False).values():
            yield from _walk(param, depth + 1)


def _distributions_of(model: Any) -> set[str]:
    """The installed distributions whose classes or functions appear in ``model``."""
    modules = {getattr(type(obj), "__module__", "") for obj in _walk(model)}
    modules |= {getattr(obj, "__module__", "") or "" for obj in _walk(model) if callable(obj)}
    tops = {module.split(".")[0] for module in modules if module}
    tops -= {"builtins", "__main__", ""}
    return {dist for top in tops if (dist := _distribution_of(top)) is not None}


def _distribution_of(top_module: str) -> str | None:
    if top_module in _KNOWN_DISTRIBUTIONS:
        return _KNOWN_DISTRIBUTIONS[top_module]
    if installed_version(top_module) is not None:
        return top_module
    names = _packages_distributions().get(top_module)
    return names[0] if names else None


@cache
def _packages_distributions() -> Mapping[str, list[str]]:
    """Slow (~0.4 s), so asked only for modules whose distribution name differs from them."""
    import importlib.metadata

    return importlib.metadata.packages_distributions()


def hyperparameters_of(model: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` as JSON values; objects become their ``repr``."""
    params = model.get_params(deep=True)
    return {key: _json_value(value) for key, value in sorted(params.items())}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, bool | int | float | str) for v in value
    ):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return repr(value)
        return value
    return repr(value)


def compile_onnx(model: Any, width: int) -> bytes:
    """Convert a fitted estimator taking ``width`` float features to ONNX (skl2onnx).

    Inputs are one float32 tensor ``X``; classifiers get plain probability tensors (no ZipMap),
    which onnxruntime returns as arrays without building Python dicts per row.
    """
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.base import is_classifier

    sample = np.zeros((1, width), dtype=np.float32)
    options = {"zipmap": False} if is_classifier(model) else None
    proto = to_onnx(model, sample, options=options, target_opset=None)
    data: bytes = proto.SerializeToString()
    return data
