"""What actually computes predictions: an onnxruntime session or the native model."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ferry.flavors.onnx import outputs_by_task
from ferry.flavors.tasks import Outputs, native_outputs
from ferry.serving.inputs import InputSpec


class Runner(Protocol):
    """Runs one batch of validated rows and answers with the task's outputs."""

    backend: str

    def run(self, rows: np.ndarray) -> Outputs: ...


def onnx_session(data: bytes, optimized_path: str | None = None) -> Any:
    """An onnxruntime session tuned for small requests on a shared machine.

    One intra-op thread without spinning: request-level parallelism comes from batching and
    from the event loop, and spinning threads would steal the CPU the server needs.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path is not None:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = optimized_path
    else:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


class OnnxRunner:
    """A single-input ONNX graph (``[n, width]`` numbers); its outputs mapped to the task's."""

    backend = "onnx"

    def __init__(self, session: Any, task: str, facts: dict[str, Any]) -> None:
        self._session = session
        self._task, self._facts = task, facts
        spec = session.get_inputs()[0]
        self._input = spec.name
        self._dtype = np.float64 if spec.type == "tensor(double)" else np.float32
        self._outputs = [output.name for output in session.get_outputs()]

    def run(self, rows: np.ndarray) -> Outputs:
        outputs = self._session.run(
            self._outputs, {self._input: rows.astype(self._dtype, copy=False)}
        )
        return outputs_by_task(
            dict(zip(self._outputs, outputs, strict=True)), self._task, self._facts
        )


class NativeRunner:
    """The deserialised model itself, fed a frame with the schema's names and dtypes."""

    backend = "native"

    def __init__(
        self, predictor: Any, spec: InputSpec, schema: dict[str, Any], task: str,
        facts: dict[str, Any],
    ) -> None:  # fmt: skip
        self._predictor = predictor
        self._spec = spec
        self._dtypes = {c["name"]: c["dtype"] for c in schema.get("columns", [])}
        self._task, self._facts = task, facts

    @property
    def predictor(self) -> Any:
        """The deserialised model (the compiler converts it)."""
        return self._predictor

    def _frame(self, rows: np.ndarray) -> Any:
        if self._spec.names is None:
            return rows.astype(self._spec.dtype, copy=False)
        import pandas as pd

        frame = pd.DataFrame(rows, columns=list(self._spec.names)).astype(self._dtypes)
        return frame.iloc[:, 0] if self._spec.series else frame  # a text model: one string a row

    def run(self, rows: np.ndarray) -> Outputs:
        return native_outputs(self._predictor, self._task, self._frame(rows), self._facts)
