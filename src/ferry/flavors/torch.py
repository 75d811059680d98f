"""PyTorch modules, exported to ONNX at registration and served by onnxruntime.

A ``torch.nn.Module`` has no file format a server could load without torch, and its input
shape is known only from an example. So :meth:`TorchFlavor.prepare` exports it with the
example (the TorchScript exporter, which works offline), checks the graph answers like the
module, and the version's only model file is that graph: loading, compiling and serving it
need onnxruntime alone, never torch.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.declared import Declared
from ferry.flavors.onnx import MODEL_FILE, OnnxFlavor, OnnxPredictor
from ferry.flavors.tasks import Outputs

OPSET = 17
"""The ONNX opset the graph is exported with (onnxruntime runs 7 to 21)."""
TOLERANCE = 1e-4
"""The exported graph must answer like the module within this (relative and absolute)."""
LOGITS = "logits"
PROBABILITIES = "probabilities"
_OUTPUT_NAMES = {
    "classifier": ["label", "probabilities"],
    "regressor": ["predictions"],
    "transformer": ["outputs"],
    "embedding": ["outputs"],
}


@dataclass(frozen=True)
class ExportedModule:
    """A module exported at registration: its graph, what it answers, and torch's own answer."""

    graph: bytes
    task: str
    facts: dict[str, Any] = field(default_factory=dict)
    module_type: str = ""


class TorchFlavor:
    """``torch.nn.Module``: saved as the ONNX graph exported from it (``model.onnx``)."""

    name: str = "torch"
    suffixes: tuple[str, ...] = ()

    def accepts(self, model: object) -> bool:
        """A module, or one this flavor has exported; torch is never imported to ask."""
        if isinstance(model, ExportedModule):
            return True
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(model, torch.nn.Module)

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        raise InvalidInput(f"{path.name}: register a PyTorch module from Python, or its .onnx")

    def prepare(self, model: Any, input_example: Any, declared: Declared) -> tuple[Any, Any]:
        """Export the module with its example (a tensor, array or numeric frame) and check the
        graph agrees with it; the example comes back as numpy or the frame it was."""
        if isinstance(model, ExportedModule):
            return model, input_example
        if input_example is None:
            raise InvalidInput("a PyTorch module is exported with its input_example: pass one")
        example = _numpy_example(input_example)
        rows = np.array(example, dtype=np.float32)  # a copy: torch wants it writable
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        return export(model, rows, declared.task), example

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        if not isinstance(model, ExportedModule):
            raise InvalidInput("a PyTorch module is registered through Registry.register")
        if serialization not in (None, "onnx"):
            raise InvalidInput(f"PyTorch modules are saved as onnx, not {serialization!r}")
        (directory / MODEL_FILE).write_bytes(model.graph)
        return SavedModel(
            files=(MODEL_FILE,),
            framework="torch",
            framework_version=installed_version("torch") or "unknown",
            serialization="onnx",
            dependencies=versions_of({"onnxruntime", "numpy"}),
            hyperparameters={"module": model.module_type, "opsets": {"ai.onnx": OPSET}},
            loader={"file": MODEL_FILE},
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> OnnxPredictor:
        """The graph in onnxruntime: nothing of torch is imported."""
        return OnnxFlavor().load(files, loader)

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        if declared and declared.outputs:
            raise InvalidInput("a PyTorch module's outputs are named by ferry; declare only task")
        predictor = self.load({MODEL_FILE: model.graph}, {"file": MODEL_FILE})
        facts = dict(model.facts)
        outputs = predictor.task_outputs(example, model.task, facts)
        if outputs.outputs is not None:
            facts["width"] = int(outputs.outputs.shape[1])
        return Description(model.task, tuple(outputs.named()), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        """The graph exported at registration, as the loaded predictor holds it."""
        data: bytes = model.data if isinstance(model, OnnxPredictor) else model.graph
        return data


def export(module: Any, rows: np.ndarray, task: str | None) -> ExportedModule:
    """The module as an ONNX graph answering its task's outputs, checked against torch."""
    import torch

    with evaluating(module):
        with torch.no_grad():
            answer = module(torch.tensor(rows))
        if not isinstance(answer, torch.Tensor):
            raise Unsupported(
                f"{type(module).__qualname__} answers a {type(answer).__name__}; ferry exports "
                "modules that answer one tensor, one row per row in"
            )
        task, facts = _task_of(answer.numpy(), task)
        wrapped = _TaskHead.build(module, task, facts.get("scores") == LOGITS)
        graph = _export(wrapped, rows, _OUTPUT_NAMES[task])
        _check_agreement(graph, wrapped, rows)
    return ExportedModule(graph, task, facts, f"{type(module).__module__}.{type(module).__name__}")


@contextmanager
def evaluating(module: Any) -> Iterator[None]:
    """The module and its submodules in eval mode (dropout off), each put back as it was
    after: registering must not change the user's module."""
    modes = [(part, part.training) for part in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for part, training in modes:
            part.training = training


def _task_of(answer: np.ndarray, declared: str | None) -> tuple[str, dict[str, Any]]:
    """One value per row is a regressor; a wider output a classifier's scores (softmax applied
    unless they already are probabilities), unless ``task`` declares transformer/embedding."""
    width = 1 if answer.ndim == 1 else int(np.prod(answer.shape[1:]))
    if answer.ndim > 2:
        raise Unsupported(f"the module answers shape {list(answer.shape)}: one vector per row")
    task = declared or ("regressor" if width == 1 else "classifier")
    if task == "clusterer":
        raise Unsupported("a PyTorch clusterer is not supported: export it to ONNX yourself")
    if task == "classifier":
        if width < 2:
            raise Unsupported("a classifier module must answer one score per class (width >= 2)")
        summed = np.allclose(answer.sum(axis=1), 1.0, atol=1e-5)
        scores = PROBABILITIES if summed and (answer >= 0).all() else LOGITS
        return task, {"classes": list(range(width)), "scores": scores}
    if task == "regressor" and width != 1:
        raise Unsupported(f"a regressor module must answer one value per row, not {width}")
    return task, {}


def _export(module: Any, rows: np.ndarray, names: list[str]) -> bytes:
    import torch

    axes = {name: {0: "rows"} for name in ["input", *names]}
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter says it is deprecated
        target = Path(folder) / MODEL_FILE
        torch.onnx.export(
            module, (torch.tensor(rows),), target, input_names=["input"],
            output_names=names, dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
        return target.read_bytes()


def _check_agreement(graph: bytes, module: Any, rows: np.ndarray) -> None:
    """Refuse a graph that answers otherwise than the module it came from."""
    import torch

    predictor = OnnxFlavor().load({MODEL_FILE: graph}, {"file": MODEL_FILE})
    with torch.no_grad():
        expected = module(torch.tensor(rows))
    got = predictor.raw(rows)
    for want, (name, have) in zip(_as_tuple(expected), got.items(), strict=True):
        if not np.allclose(np.asarray(have), want.numpy(), rtol=TOLERANCE, atol=TOLERANCE):
            raise Unsupported(
                f"the ONNX export of this module answers {name} otherwise than the module "
                "itself; export it to ONNX yourself and register the .onnx file"
            )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _numpy_example(example: Any) -> Any:
    """A tensor as a numpy array; frames and arrays as they are."""
    if hasattr(example, "detach") and hasattr(example, "numpy"):
        return example.detach().cpu().numpy()
    return example


class _TaskHead:
    """Builds the module ferry exports: the user's module, then the task's outputs."""

    @staticmethod
    def build(module: Any, task: str, logits: bool) -> Any:
        import torch

        class Classifier(torch.nn.Module):
            """Label (argmax) and probabilities (softmax of logits when the module gives
            logits) from a module's class scores."""

            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                scores = self.inner(rows)
                probabilities = torch.softmax(scores, dim=1) if logits else scores
                return torch.argmax(scores, dim=1), probabilities

        if task == "classifier":
            return Classifier(module).eval()
        return module
