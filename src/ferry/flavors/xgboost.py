"""XGBoost models: a ``Booster`` or the scikit-learn wrappers (XGBClassifier, XGBRegressor).

Saved in XGBoost's own formats (``.ubj`` by default, ``.json`` on request) with
``save_model``, never pickled: the file holds trees and parameters only, and XGBoost reads
files of older releases. Served through the scikit-learn wrapper rebuilt from that file, so
labels and probabilities are the ones ``XGBClassifier.predict``/``predict_proba`` give.
xgboost is imported only when such a model is registered, read or loaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.boosted import float_input, kind_of, numeric_width, refuse_kind
from ferry.flavors.declared import Declared
from ferry.flavors.tasks import Outputs, native_outputs

SERIALIZATIONS = {"ubj": "model.ubj", "json": "model.json"}
"""XGBoost's two model formats and the file each writes (UBJSON is smaller and faster)."""
_REGRESSION = ("reg:", "count:", "survival:")
_CLASSIFICATION = ("binary:logistic", "multi:softprob")


class XgboostModel:
    """The scikit-learn wrapper as served: columns it was trained on as pandas categories
    (``enable_categorical``) arrive as strings and become categories again, which XGBoost
    re-codes by the categories it stored."""

    def __init__(self, wrapper: Any) -> None:
        self.wrapper = wrapper
        booster = wrapper.get_booster()
        pairs = zip(booster.feature_names or [], booster.feature_types or [], strict=False)
        self.categorical = tuple(name for name, kind in pairs if kind == "c")

    def predict(self, inputs: Any) -> np.ndarray:
        return np.asarray(self.wrapper.predict(self._frame(inputs)))

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.asarray(self.wrapper.predict_proba(self._frame(inputs)))

    def _frame(self, inputs: Any) -> Any:
        if self.categorical and hasattr(inputs, "columns"):
            return inputs.astype({name: "category" for name in self.categorical})
        return inputs


class XgboostFlavor:
    """``xgboost.Booster`` and ``xgboost.XGBModel`` subclasses (classifiers and regressors)."""

    name: str = "xgboost"
    suffixes: tuple[str, ...] = (".ubj", ".json")

    def accepts(self, model: object) -> bool:
        """Anything from the xgboost package; kinds it cannot serve are refused by name."""
        return isinstance(model, XgboostModel) or type(model).__module__.split(".")[0] == "xgboost"

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        """The wrapper for the file's task, from the file alone (no code runs)."""
        return _wrapped(path.read_bytes(), path.name)

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        serialization = serialization or "ubj"
        if serialization not in SERIALIZATIONS:
            raise InvalidInput(
                f"XGBoost models are saved as {sorted(SERIALIZATIONS)}, not {serialization!r}"
            )
        wrapper = as_wrapper(model)
        path = directory / SERIALIZATIONS[serialization]
        wrapper.save_model(str(path))
        return SavedModel(
            files=(path.name,),
            framework="xgboost",
            framework_version=installed_version("xgboost") or "unknown",
            serialization=serialization,
            dependencies=versions_of({"xgboost", "numpy"}),
            hyperparameters=_hyperparameters(wrapper),
            loader={"file": path.name, "task": _task(wrapper)},
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> XgboostModel:
        name = str(loader["file"])
        return XgboostModel(_wrapped(files[name], name, str(loader["task"])))

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        wrapper = as_wrapper(model)
        task = _task(wrapper)
        if declared and (declared.outputs or declared.task not in (None, task)):
            raise InvalidInput(f"this XGBoost model is a {task} and names its own outputs")
        facts: dict[str, Any] = {}
        outputs = native_outputs(XgboostModel(wrapper), task, example, facts)
        if task == "classifier":
            facts["classes"] = np.asarray(wrapper.classes_).tolist()
        return Description(task, tuple(outputs.named()), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """onnxmltools' graph of the booster (feature names dropped: it wants ``f0, f1 ...``)."""
        from onnxmltools import convert_xgboost

        width = numeric_width(input_example)
        booster = as_wrapper(model).get_booster().copy()
        booster.feature_names = None
        booster.feature_types = None
        graph = convert_xgboost(booster, initial_types=float_input(width))
        data: bytes = graph.SerializeToString()
        return data


def as_wrapper(model: Any) -> Any:
    """The scikit-learn wrapper of ``model``: a wrapper itself, or a Booster rebuilt in one."""
    import xgboost

    if isinstance(model, XgboostModel):
        return model.wrapper
    if isinstance(model, xgboost.XGBModel):
        if not isinstance(model, xgboost.XGBClassifier | xgboost.XGBRegressor):
            raise refuse_kind(f"a {kind_of(model)}")
        return model
    if isinstance(model, xgboost.Booster):
        return _wrapped(bytes(model.save_raw("ubj")), "the booster")
    raise Unsupported(f"cannot register a {type(model).__qualname__} from xgboost")


def _wrapped(data: bytes, source: str, task: str | None = None) -> Any:
    """An XGBClassifier or XGBRegressor loaded from a model file's bytes; the task comes from
    the file's scikit-learn attributes or its objective when not given."""
    import xgboost

    try:
        booster = xgboost.Booster(model_file=bytearray(data))
    except xgboost.core.XGBoostError as error:
        raise InvalidInput(f"{source} is not a readable XGBoost model: {error}") from None
    task = task or _task_of_booster(booster)
    wrapper = xgboost.XGBClassifier() if task == "classifier" else xgboost.XGBRegressor()
    wrapper.load_model(bytearray(data))
    return wrapper


def _task_of_booster(booster: Any) -> str:
    kind = json.loads(booster.attr("scikit_learn") or "{}").get("_estimator_type")
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if kind in ("classifier", "regressor"):
        return str(kind)
    if objective in _CLASSIFICATION:
        return "classifier"
    if objective.startswith(_REGRESSION):
        return "regressor"
    raise refuse_kind(f"an XGBoost model with objective {objective!r}")


def _task(wrapper: Any) -> str:
    import xgboost

    return "classifier" if isinstance(wrapper, xgboost.XGBClassifier) else "regressor"


def _hyperparameters(wrapper: Any) -> dict[str, Any]:
    """The parameters that were set, as JSON values (``missing=nan`` becomes ``"nan"``)."""
    params = wrapper.get_xgb_params()
    kept: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if isinstance(value, float) and not math.isfinite(value):
            kept[key] = str(value)
        elif value is None or isinstance(value, bool | int | float | str):
            kept[key] = value
    return kept
