"""ONNX models, run by onnxruntime; neither onnx nor scikit-learn is needed to serve them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.declared import Declared
from ferry.flavors.tasks import MEMBERSHIP, OUTPUT_NAMES, POSTERIOR, Outputs, clusterer_outputs

MODEL_FILE = "model.onnx"
LOWERCASE_PROPERTY = "ferry.lowercase"
"""A graph's metadata property naming the inputs whose texts are lowercased (Python's
``str.lower``, as scikit-learn does) before the graph runs (see :mod:`ferry.flavors.sklearn_onnx`)."""
_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


class OnnxFlavor:
    """An ``onnx.ModelProto``, saved as its protobuf bytes and served as it is."""

    name: str = "onnx"
    suffixes: tuple[str, ...] = (".onnx",)

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        import onnx

        try:
            return onnx.load(str(path))
        except Exception as error:  # protobuf raises its own DecodeError
            raise InvalidInput(f"{path.name} is not a readable ONNX file: {error}") from None

    def accepts(self, model: object) -> bool:
        return type(model).__module__.startswith("onnx") and hasattr(model, "SerializeToString")

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        if serialization not in (None, "onnx"):
            raise InvalidInput(f"ONNX models are saved as onnx, not {serialization!r}")
        (directory / MODEL_FILE).write_bytes(model.SerializeToString())
        opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
        return SavedModel(
            files=(MODEL_FILE,),
            framework="onnx",
            framework_version=installed_version("onnx") or "unknown",
            serialization="onnx",
            dependencies=versions_of({"onnx", "onnxruntime", "numpy"}),
            hyperparameters={"producer": model.producer_name, "opsets": opsets},
            loader={"file": MODEL_FILE},
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> OnnxPredictor:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        data = files[str(loader["file"])]
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        return OnnxPredictor(session, data)

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        """The declared task and outputs (``ferry.task``/``ferry.outputs`` in the graph when
        none is given), else what the outputs imply (see :func:`_task_of`)."""
        data = model.SerializeToString()
        predictor = self.load({MODEL_FILE: data}, {"file": MODEL_FILE})
        raw = predictor.raw(example)
        if not declared:
            declared = Declared.from_properties({p.key: p.value for p in model.metadata_props})
        _check_names(declared, list(raw))
        task, facts = (declared.task, {}) if declared.task else _task_of(raw, declared.outputs)
        if declared.outputs:
            facts["onnx_outputs"] = declared.outputs
        if task == "clusterer":
            facts["confidence"] = POSTERIOR if "probabilities" in declared.outputs else MEMBERSHIP
        outputs = outputs_by_task(raw, task, facts)
        extra = _extra_outputs(raw, task, facts, outputs.rows)
        if extra:
            outputs = replace(outputs, extra=extra)
            facts["extra_outputs"] = {
                name: {"dtype": str(value.dtype), "shape": [-1, *value.shape[1:]]}
                for name, value in extra.items()
            }
        second = outputs.probabilities if outputs.probabilities is not None else outputs.distances
        if second is not None:
            facts["n_clusters" if task == "clusterer" else "n_classes"] = int(second.shape[1])
        if outputs.outputs is not None:
            facts["width"] = int(outputs.outputs.shape[1])
        return Description(task, (*outputs.named(), *extra), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """The graph itself; one with several inputs is fed by name through its own predictor,
        which the loader reports as the native backend."""
        if isinstance(model, OnnxPredictor):
            if len(model.input_names) > 1:
                raise Unsupported(
                    f"it takes {len(model.input_names)} inputs {model.input_names}; the compiled "
                    "runner feeds one tensor, so onnxruntime runs it through its own predictor"
                )
            return model.data
        data: bytes = model.SerializeToString()
        return data


def _task_of(raw: Mapping[str, Any], declared: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The task an outside graph's outputs imply: declared probabilities make a classifier,
    distances a clusterer, outputs a transformer; else labels (and probabilities) make a
    classifier, one column of floats a regressor, a wider float output a transformer."""
    implied = {"probabilities": "classifier", "distances": "clusterer", "outputs": "transformer"}
    for output, task in implied.items():
        if output in declared:
            return task, {}
    first = _array(raw[declared.get("predictions", next(iter(raw)))])
    if first.dtype.kind in "iuOSU" and first.ndim <= 2 and first.size == len(first):
        return "classifier", {}
    if first.dtype.kind == "f" and first.size == len(first):
        return "regressor", {}
    if first.dtype.kind == "f" and first.ndim == 2:
        return "transformer", {}
    raise Unsupported(
        f"cannot tell what this ONNX graph answers (outputs {list(raw)}, first of shape "
        f"{list(first.shape)}): declare it, e.g. ferry register --task classifier "
        "--outputs label=NAME,probabilities=NAME (Registry.register(task=, outputs=))"
    )


def _check_names(declared: Declared, names: list[str]) -> None:
    unknown = [name for name in declared.outputs.values() if name not in names]
    if unknown:
        raise InvalidInput(f"this ONNX graph has no output {unknown[0]!r}; its outputs: {names}")


def _array(value: Any) -> np.ndarray:
    """An output as an array; ZipMap's list of {class: probability} becomes (n, classes)."""
    if isinstance(value, list):
        keys = list(value[0].keys()) if value else []
        return np.array([[row[key] for key in keys] for row in value], dtype=np.float64)
    return np.asarray(value)


RESERVED = frozenset({*OUTPUT_NAMES, "predict", "predict_proba"})
"""Names the protocols answer a task's outputs with: no other output of a graph may take one."""


def _extra_outputs(
    raw: Mapping[str, Any], task: str, facts: Mapping[str, Any], rows: int
) -> dict[str, np.ndarray]:
    """An outside graph's outputs beyond the task's, by name; :class:`Unsupported` for one
    that is not one row per row or whose name a protocol answers the task with."""
    used = _picked(list(raw), facts.get("onnx_outputs") or {}, task)
    extra = {name: _array(value) for name, value in raw.items() if name not in used}
    for name, value in extra.items():
        if name in RESERVED:
            raise Unsupported(
                f"this ONNX graph's output {name!r} is not its {task}'s {name}, and ferry "
                "answers with that name: declare it (--outputs) or rename it in the graph"
            )
        if value.shape[:1] != (rows,):
            raise Unsupported(
                f"this ONNX graph's output {name!r} has shape {list(value.shape)}, not one row "
                f"per input row ({rows}); ferry answers every output row by row: remove it "
                "from the graph's outputs and register it again"
            )
    return extra


def outputs_by_task(raw: Mapping[str, Any], task: str, facts: Mapping[str, Any]) -> Outputs:
    """A graph's outputs (by name, in graph order) as the task's :class:`Outputs`: the declared
    ones (``facts["onnx_outputs"]``), else the first and the second; the version's other
    recorded outputs (an outside graph's, ``facts["outputs"]``) in ``extra``, by name."""
    first_name, second_name = _picked(list(raw), facts.get("onnx_outputs") or {}, task)
    first = _array(raw[first_name])
    second = None if second_name is None else _array(raw[second_name])
    answer = _by_task(first, second, task, facts)
    extra = {
        name: _array(raw[name])
        for name in facts.get("outputs", ())
        if name not in OUTPUT_NAMES and name in raw
    }
    return replace(answer, extra=extra) if extra else answer


def _by_task(
    first: np.ndarray, second: np.ndarray | None, task: str, facts: Mapping[str, Any]
) -> Outputs:
    if task == "classifier":
        probabilities = second.astype(np.float64) if second is not None else None
        return Outputs(predictions=first.ravel(), probabilities=probabilities)
    if task == "regressor":
        return Outputs(predictions=first.astype(np.float64).ravel())
    if task == "clusterer":
        return clusterer_outputs(first, second, str(facts.get("confidence", MEMBERSHIP)))
    return Outputs(outputs=first.astype(np.float64).reshape(len(first), -1))


def _picked(names: list[str], declared: Mapping[str, str], task: str) -> tuple[str, str | None]:
    """The names of the task's first output and of its second (probabilities or distances,
    which only classifiers and clusterers have): the declared ones, else the graph's first two."""
    if not declared:
        second = names[1] if len(names) > 1 and task in ("classifier", "clusterer") else None
        return names[0], second
    first = declared.get("predictions") or declared.get("outputs") or names[0]
    return first, declared.get("probabilities") or declared.get("distances")


class OnnxPredictor:
    """Feeds an onnxruntime session from arrays or frames; label and probability outputs."""

    def __init__(self, session: Any, data: bytes = b"") -> None:
        self._session = session
        self.data = data
        self._inputs = session.get_inputs()
        self._outputs = [output.name for output in session.get_outputs()]

    def _feed(self, inputs: Any) -> dict[str, Any]:
        if len(self._inputs) == 1:
            spec = self._inputs[0]
            array = np.asarray(inputs, dtype=_NUMPY_TYPES.get(spec.type))
            if array.ndim == 1 and len(spec.shape) == 2:
                array = array.reshape(-1, 1)
            return {spec.name: array}
        if not hasattr(inputs, "columns"):
            raise InvalidInput(
                f"this ONNX model takes {len(self._inputs)} named inputs: pass a DataFrame "
                f"with columns {[spec.name for spec in self._inputs]}"
            )
        return {
            spec.name: inputs[spec.name].to_numpy(dtype=_NUMPY_TYPES.get(spec.type)).reshape(-1, 1)
            for spec in self._inputs
        }

    def _run(self, inputs: Any) -> list[Any]:
        result: list[Any] = self._session.run(None, self._feed(inputs))
        return result

    @property
    def input_names(self) -> list[str]:
        """The graph's input names, in order."""
        return [spec.name for spec in self._inputs]

    def raw(self, inputs: Any) -> dict[str, Any]:
        """Every output by name, in graph order."""
        return dict(zip(self._outputs, self._run(inputs), strict=True))

    def task_outputs(self, inputs: Any, task: str, facts: Mapping[str, Any]) -> Outputs:
        """The task's outputs (see :func:`ferry.flavors.tasks.native_outputs`)."""
        return outputs_by_task(self.raw(inputs), task, facts)

    def predict(self, inputs: Any) -> np.ndarray:
        """The first output: labels for a classifier, values for a regressor."""
        return np.asarray(self._run(inputs)[0])

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """The second output as an (n, classes) array; ZipMap outputs are unpacked."""
        outputs = self._run(inputs)
        if len(outputs) < 2:
            raise Unsupported("this ONNX model has no probability output")
        return _array(outputs[1])
