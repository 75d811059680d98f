"""scikit-learn estimators and Pipelines: skops by default, joblib or pickle on request.

scikit-learn is imported only when a model of this flavor is saved or loaded, so a process
that serves ONNX never pays for it.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import zipfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.declared import Declared
from ferry.flavors.sklearn_onnx import to_onnx_graph
from ferry.flavors.tasks import MEMBERSHIP, POSTERIOR, Outputs, native_outputs

SERIALIZATIONS = {"skops": "model.skops", "joblib": "model.joblib", "pickle": "model.pkl"}
"""Each serialization and the file it writes; only skops is safe to load from untrusted bytes."""

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_KNOWN_DISTRIBUTIONS = {"sklearn": "scikit-learn", "skops": "skops", "joblib": "joblib"}
_ALWAYS_NEEDED = ("scikit-learn", "numpy", "scipy")


class SklearnFlavor:
    """Anything with scikit-learn's estimator contract (``get_params``, ``fit``) that predicts,
    or transforms (TruncatedSVD, PCA)."""

    name: str = "sklearn"
    suffixes: tuple[str, ...] = (".skops", *PICKLE_SUFFIXES)

    def accepts(self, model: object) -> bool:
        """Any estimator: one it cannot serve (DBSCAN) is refused by :meth:`describe`, by name."""
        return callable(getattr(model, "get_params", None)) and callable(
            getattr(model, "fit", None)
        )

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        """A .skops file trusting only the types named by ``trusted``; a pickle only when
        ``trust_pickle`` says the user made it."""
        if path.suffix.lower() == ".skops":
            return _read_skops(path, trusted)
        if not trust_pickle:
            raise InvalidInput(
                f"{path.name} is a pickle, which runs code when loaded: pass --trust-pickle "
                "if you made it yourself (ferry re-saves it as skops)"
            )
        import joblib

        return joblib.load(path)

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

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> Any:
        name = str(loader["file"])
        data = files[name]
        if name.endswith(".skops"):
            import skops.io

            return skops.io.loads(data, trusted=list(loader.get("trusted_types", [])))
        if name.endswith(".joblib"):
            import joblib

            return joblib.load(io.BytesIO(data))
        return pickle.loads(data)

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        task, facts = _task_of(model)
        _check_declared(declared, task, model)
        outputs = native_outputs(model, task, example, facts)
        if task == "classifier":
            facts["classes"] = np.asarray(model.classes_).tolist()
        if outputs.outputs is not None:
            facts["width"] = int(outputs.outputs.shape[1])
        return Description(task, tuple(outputs.named()), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """skl2onnx's graph for a numeric table, one text a row, or text and category columns
        (see :mod:`ferry.flavors.sklearn_onnx`)."""
        return to_onnx_graph(model, input_example)


def _check_declared(declared: Declared | None, task: str, model: Any) -> None:
    """A scikit-learn model tells its own task and outputs: a declaration may only agree."""
    if declared and declared.outputs:
        raise InvalidInput(
            "outputs are declared for ONNX files; a scikit-learn model names its own outputs"
        )
    if declared and declared.task not in (None, task):
        raise InvalidInput(
            f"this {type(model).__qualname__} is a {task}, not a {declared.task} as declared"
        )


def _task_of(model: Any) -> tuple[str, dict[str, Any]]:
    """The task of an estimator (of a Pipeline's last step) and the facts it implies."""
    from sklearn.base import is_classifier, is_clusterer, is_regressor

    last = model.steps[-1][1] if hasattr(model, "steps") else model
    kind = f"{type(last).__module__}.{type(last).__qualname__}"
    if is_classifier(model):
        return "classifier", {}
    if is_regressor(model):
        return "regressor", {}
    has = {name: callable(getattr(model, name, None)) for name in ("predict", "transform")}
    mixture = callable(getattr(last, "predict_proba", None)) and hasattr(last, "n_components")
    if (is_clusterer(last) or mixture) and has["predict"]:
        n = getattr(last, "n_clusters", None) or getattr(last, "n_components", None)
        confidence = POSTERIOR if mixture else MEMBERSHIP
        return "clusterer", {"n_clusters": int(n) if n else None, "confidence": confidence}
    if has["transform"] and not has["predict"]:
        return "transformer", {}
    raise Unsupported(
        f"cannot serve a {kind}: ferry serves classifiers, regressors, clusterers that "
        "predict new rows (KMeans, GaussianMixture) and transformers (TruncatedSVD, PCA); "
        "export it to ONNX and register the .onnx if its outputs fit one of these"
    )


def _read_skops(path: Path, trusted: list[str]) -> Any:
    """Load a file from outside trusting only skops' defaults and the types named by --trust.

    The file lists its own types, so trusting what it lists (or whole modules such as
    ``sklearn.*``) would let a crafted file pick them: ``sklearn.tree._tree.Tree`` reads memory
    out of bounds on crafted input, which is why skops and MLflow refuse it by default.
    """
    import skops.io

    try:
        untrusted = sorted(skops.io.get_untrusted_types(file=path))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InvalidInput(f"{path.name} is not a readable skops file: {error}") from error
    refused = [name for name in untrusted if name not in trusted]
    if refused:
        flags = " ".join(f"--trust {name}" for name in refused)
        raise InvalidInput(
            f"{path.name} holds types that skops does not trust by default: {refused}; a "
            "crafted file can misuse them. If you know where the file comes from, pass "
            f"{flags}"
        )
    return skops.io.load(path, trusted=untrusted)


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
