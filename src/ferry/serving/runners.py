"""What actually computes predictions: an onnxruntime session or the native model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

import numpy as np

from ferry.errors import Unsupported
from ferry.flavors.onnx import LOWERCASE_PROPERTY, outputs_by_task
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
    """An ONNX graph fed from validated rows, its outputs mapped to the task's.

    A graph with one input takes every column as one tensor (``[n, width]`` numbers, or one
    text a row); a graph with several takes one ``[n, 1]`` input per column, named after it
    (text and category columns beside numbers).
    """

    backend = "onnx"

    def __init__(
        self, session: Any, task: str, facts: dict[str, Any],
        columns: Sequence[str] | None = None,
    ) -> None:  # fmt: skip
        self._session = session
        self._task, self._facts = task, facts
        self._feeds = _feeds(session, columns)
        self._outputs = [output.name for output in session.get_outputs()]

    def run(self, rows: np.ndarray) -> Outputs:
        feed = {
            name: convert(rows if index is None else rows[:, index : index + 1])
            for name, index, convert in self._feeds
        }
        outputs = self._session.run(self._outputs, feed)
        return outputs_by_task(
            dict(zip(self._outputs, outputs, strict=True)), self._task, self._facts
        )


Feed = tuple[str, int | None, Callable[[np.ndarray], np.ndarray]]
"""A graph input's name, the column it takes (None: every column) and how rows become it."""


def _feeds(session: Any, columns: Sequence[str] | None) -> list[Feed]:
    """How to feed each input of ``session``; :class:`Unsupported` when a graph with several
    inputs names one that is not a column."""
    inputs = session.get_inputs()
    lowered = session.get_modelmeta().custom_metadata_map.get(LOWERCASE_PROPERTY, "").split(",")
    if len(inputs) == 1:
        return [(inputs[0].name, None, _converter(inputs[0].type, inputs[0].name in lowered))]
    names = list(columns or ())
    unknown = [spec.name for spec in inputs if spec.name not in names]
    if unknown:
        raise Unsupported(f"the graph's inputs {unknown} are not among the columns {names}")
    return [
        (spec.name, names.index(spec.name), _converter(spec.type, spec.name in lowered))
        for spec in inputs
    ]


def _converter(onnx_type: str, lowercase: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Rows to an input of ``onnx_type``: texts as strings (lowercased when the graph says so),
    numbers cast without a copy when they already fit."""
    if onnx_type == "tensor(string)":
        return partial(_texts, lowercase=lowercase)
    dtype = _NUMBERS.get(onnx_type, np.float32)
    return partial(np.ndarray.astype, dtype=dtype, copy=False)


_NUMBERS = {"tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def _texts(values: np.ndarray, lowercase: bool) -> np.ndarray:
    texts = [str(value) for value in values.ravel()]
    if lowercase:
        texts = [text.lower() for text in texts]
    return np.array(texts, dtype=object).reshape(values.shape)


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

    def frame(self, rows: np.ndarray) -> Any:
        """Validated rows as the model takes them: an array, a frame with the schema's dtypes,
        or a text model's Series."""
        if self._spec.names is None:
            return rows.astype(self._spec.dtype, copy=False)
        import pandas as pd

        frame = pd.DataFrame(rows, columns=list(self._spec.names)).astype(self._dtypes)
        return frame.iloc[:, 0] if self._spec.series else frame  # a text model: one string a row

    def run(self, rows: np.ndarray) -> Outputs:
        return native_outputs(self._predictor, self._task, self.frame(rows), self._facts)
