"""LightGBM models: a ``Booster`` or the scikit-learn wrappers (LGBMClassifier, LGBMRegressor).

Saved as LightGBM's own text model (``model.txt``, ``Booster.save_model``), never pickled.
The text file has no class labels, so a classifier's ``classes`` (strings stay strings) are
recorded in the metadata and the served answer is ``LGBMClassifier``'s: the probabilities of
the booster, and the label of the most probable class. lightgbm is imported only when such a
model is registered, read or loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.boosted import float_input, kind_of, numeric_width, refuse_kind
from ferry.flavors.declared import Declared
from ferry.flavors.tasks import Outputs, native_outputs

MODEL_FILE = "model.txt"
_REGRESSION = ("regression", "poisson", "gamma", "quantile", "huber", "tweedie", "fair", "mape")
_CLASSIFICATION = ("binary", "multiclass")


class LightgbmModel:
    """A booster with the task and labels it answers: ``predict`` and ``predict_proba`` as
    LGBMClassifier/LGBMRegressor give them."""

    def __init__(self, booster: Any, task: str, classes: list[Any] | None = None) -> None:
        self.booster = booster
        self.task = task
        self.classes = classes
        self.categorical = _categorical_columns(booster)
        """Columns trained as pandas categories: requests send them as strings."""

    @property
    def n_features_in_(self) -> int:
        """The feature count, as scikit-learn names it (``ferry register`` builds an example)."""
        count: int = self.booster.num_feature()
        return count

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """One column per class; a binary booster's single probability becomes two."""
        if self.task != "classifier":
            raise Unsupported("a LightGBM regressor has no probabilities")
        raw = self._raw(inputs)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, inputs: Any) -> np.ndarray:
        """Values for a regressor; for a classifier the most probable class's label."""
        if self.task != "classifier":
            return self._raw(inputs)
        labels: np.ndarray = np.asarray(self.classes)[np.argmax(self.predict_proba(inputs), axis=1)]
        return labels

    def _raw(self, inputs: Any) -> np.ndarray:
        """The booster's answer; categorical columns become pandas categories, which LightGBM
        maps onto the categories it was trained with (an unseen one counts as missing)."""
        if self.categorical and hasattr(inputs, "columns"):
            inputs = inputs.astype({name: "category" for name in self.categorical})
        return np.asarray(self.booster.predict(inputs), dtype=np.float64)


def _categorical_columns(booster: Any) -> tuple[str, ...]:
    """The features a booster trained on a frame took as pandas categories: their
    ``feature_infos`` list category codes (``-1:2:1:0``), not a ``[min:max]`` range."""
    if not getattr(booster, "pandas_categorical", None):
        return ()
    header = _header(booster.model_to_string().encode())
    names = header.get("feature_names", "").split()
    infos = header.get("feature_infos", "").split()
    return tuple(n for n, info in zip(names, infos, strict=False) if info[:1] not in ("[", "n"))


class LightgbmFlavor:
    """``lightgbm.Booster`` and ``lightgbm.LGBMModel`` subclasses (classifiers, regressors)."""

    name: str = "lightgbm"
    suffixes: tuple[str, ...] = (".txt",)

    def accepts(self, model: object) -> bool:
        """Anything from the lightgbm package; kinds it cannot serve are refused by name."""
        return isinstance(model, LightgbmModel) or (
            type(model).__module__.split(".")[0] == "lightgbm"
        )

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        """The model from a text file; a classifier's labels are ``0 .. n-1`` (the file has
        no others)."""
        return _from_text(path.read_bytes(), path.name)

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        if serialization not in (None, "txt"):
            raise InvalidInput(f"LightGBM models are saved as txt, not {serialization!r}")
        served = as_model(model)
        served.booster.save_model(str(directory / MODEL_FILE))
        loader: dict[str, Any] = {"file": MODEL_FILE, "task": served.task}
        if served.classes is not None:
            loader["classes"] = served.classes
        return SavedModel(
            files=(MODEL_FILE,),
            framework="lightgbm",
            framework_version=installed_version("lightgbm") or "unknown",
            serialization="txt",
            dependencies=versions_of({"lightgbm", "numpy"}),
            hyperparameters=_hyperparameters(served.booster),
            loader=loader,
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> LightgbmModel:
        import lightgbm

        text = files[str(loader["file"])].decode()
        booster = lightgbm.Booster(model_str=text)
        classes = loader.get("classes")
        return LightgbmModel(booster, str(loader["task"]), list(classes) if classes else None)

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        served = as_model(model)
        if declared and (declared.outputs or declared.task not in (None, served.task)):
            raise InvalidInput(f"this LightGBM model is a {served.task} and names its own outputs")
        facts: dict[str, Any] = {}
        outputs = native_outputs(served, served.task, example, facts)
        if served.classes is not None:
            facts["classes"] = served.classes
        return Description(served.task, tuple(outputs.named()), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """onnxmltools' graph, labelled with the recorded classes, probabilities as a tensor."""
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.lightgbm._parse import WrappedBooster

        served = as_model(model)
        wrapped = WrappedBooster(served.booster)
        if served.classes is not None:
            wrapped.classes_ = np.asarray(served.classes)
        graph = convert_lightgbm(
            wrapped, initial_types=float_input(numeric_width(input_example)), zipmap=False
        )
        data: bytes = graph.SerializeToString()
        return data


def as_model(model: Any) -> LightgbmModel:
    """A :class:`LightgbmModel` from a wrapper (its ``classes_``) or a Booster (``0 .. n-1``)."""
    if isinstance(model, LightgbmModel):
        return model
    import lightgbm

    if isinstance(model, lightgbm.LGBMClassifier | lightgbm.LGBMRegressor):
        booster = model.booster_
        if isinstance(model, lightgbm.LGBMClassifier):
            return LightgbmModel(booster, "classifier", np.asarray(model.classes_).tolist())
        return LightgbmModel(booster, "regressor")
    if isinstance(model, lightgbm.Booster):
        return _from_text(model.model_to_string().encode(), "the booster")
    raise refuse_kind(f"a {kind_of(model)}")


def _from_text(data: bytes, source: str) -> LightgbmModel:
    """A model from a text file's bytes, its task and class count from the file's header."""
    import lightgbm

    try:
        booster = lightgbm.Booster(model_str=data.decode())
    except (lightgbm.basic.LightGBMError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{source} is not a readable LightGBM model: {error}") from None
    header = _header(data)
    objective = header.get("objective", "")
    if objective.startswith(_CLASSIFICATION):
        n = max(int(header.get("num_class", "1")), 2)
        return LightgbmModel(booster, "classifier", list(range(n)))
    if objective.startswith(_REGRESSION):
        return LightgbmModel(booster, "regressor")
    raise refuse_kind(f"a LightGBM model with objective {objective!r}")


def _header(data: bytes) -> dict[str, str]:
    """The ``key=value`` lines before the first tree."""
    head = data.split(b"\nTree=", 1)[0].decode()
    return dict(line.split("=", 1) for line in head.splitlines() if "=" in line)


def _hyperparameters(booster: Any) -> dict[str, Any]:
    return {
        key: value
        for key, value in sorted(booster.params.items())
        if value is None or isinstance(value, bool | int | float | str)
    }
