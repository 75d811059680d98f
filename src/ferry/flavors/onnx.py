"""ONNX models, run by onnxruntime; neither onnx nor scikit-learn is needed to serve them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput
from ferry.flavors.base import Flavor, Predictor, SavedModel, installed_version, versions_of

MODEL_FILE = "model.onnx"
_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


class OnnxFlavor(Flavor):
    """An ``onnx.ModelProto``, saved as its protobuf bytes."""

    name = "onnx"

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

    def predictor(self, model: Any, directory: Path) -> Predictor:
        return self.load({MODEL_FILE: (directory / MODEL_FILE).read_bytes()}, {"file": MODEL_FILE})

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> Predictor:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            files[str(loader["file"])], options, providers=["CPUExecutionProvider"]
        )
        return OnnxPredictor(session)


class OnnxPredictor:
    """Feeds an onnxruntime session from arrays or frames; label and probability outputs."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._inputs = session.get_inputs()
        self._outputs = [output.name for output in session.get_outputs()]

    def _feed(self, inputs: Any) -> dict[str, Any]:
        if len(self._inputs) == 1:
            spec = self._inputs[0]
            return {spec.name: np.asarray(inputs, dtype=_NUMPY_TYPES.get(spec.type))}
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

    def predict(self, inputs: Any) -> np.ndarray:
        """The first output: labels for a classifier, values for a regressor."""
        return np.asarray(self._run(inputs)[0])

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """The second output as an (n, classes) array; ZipMap outputs are unpacked."""
        outputs = self._run(inputs)
        if len(outputs) < 2:
            raise InvalidInput("this ONNX model has no probability output")
        probabilities = outputs[1]
        if isinstance(probabilities, list):
            keys = list(probabilities[0].keys()) if probabilities else []
            return np.array([[row[key] for key in keys] for row in probabilities])
        return np.asarray(probabilities)
