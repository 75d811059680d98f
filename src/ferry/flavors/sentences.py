"""Sentence encoders (sentence-transformers) and classifiers on their embeddings, as text models.

At registration the encoder's transformer, its pooling and normalisation are exported to one
ONNX graph (a scikit-learn head is converted by skl2onnx and joined to it), checked against
the libraries' own answer, and saved with the encoder's ``tokenizer.json``. A server tokenizes
with the ``tokenizers`` library and runs the graph in onnxruntime: torch, transformers and
sentence-transformers are never imported to serve.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferry.errors import InvalidInput, Unsupported
from ferry.flavors.base import Description, SavedModel, installed_version, versions_of
from ferry.flavors.declared import Declared
from ferry.flavors.onnx import MODEL_FILE, OnnxFlavor, outputs_by_task
from ferry.flavors.tasks import Outputs
from ferry.flavors.torch import evaluating

TOKENIZER_FILE = "tokenizer.json"
OPSET = 17
TOLERANCE = 1e-4
"""The graph must answer like sentence-transformers (and the head) within this."""
_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class TextClassifier:
    """A sentence encoder followed by a scikit-learn classifier fitted on its embeddings."""

    encoder: Any
    head: Any


@dataclass(frozen=True)
class ExportedText:
    """A text model exported at registration: graph, tokenizer and what it answers."""

    graph: bytes
    tokenizer: str
    task: str
    facts: dict[str, Any] = field(default_factory=dict)
    kind: str = ""


class SentencesFlavor:
    """A ``SentenceTransformer`` (an ``embedding``) or a :class:`TextClassifier`."""

    name: str = "sentence-transformers"
    suffixes: tuple[str, ...] = ()

    def accepts(self, model: object) -> bool:
        """Asked without importing sentence-transformers: a loaded one is in sys.modules."""
        if isinstance(model, ExportedText | TextClassifier):
            return True
        library = sys.modules.get("sentence_transformers")
        return library is not None and isinstance(model, library.SentenceTransformer)

    def read(self, path: Path, *, trust_pickle: bool, trusted: list[str]) -> Any:
        raise InvalidInput(f"{path.name}: register a sentence encoder from Python")

    def prepare(self, model: Any, input_example: Any, declared: Declared) -> tuple[Any, Any]:
        """Export to ONNX with the example texts and check it answers like the libraries."""
        if isinstance(model, ExportedText):
            return model, input_example
        if declared.outputs or declared.task not in (None, _task_of(model)):
            raise InvalidInput(f"this text model is a {_task_of(model)}; it names its outputs")
        if input_example is None:
            raise InvalidInput("a text model is exported with its input_example: pass texts")
        texts = _texts(input_example)
        if isinstance(model, TextClassifier):
            return _export_classifier(model, texts), input_example
        return _export_encoder(model, texts), input_example

    def save(self, model: Any, directory: Path, serialization: str | None) -> SavedModel:
        if not isinstance(model, ExportedText):
            raise InvalidInput("a sentence encoder is registered through Registry.register")
        (directory / MODEL_FILE).write_bytes(model.graph)
        (directory / TOKENIZER_FILE).write_text(model.tokenizer)
        return SavedModel(
            files=(MODEL_FILE, TOKENIZER_FILE),
            framework="sentence-transformers",
            framework_version=installed_version("sentence-transformers") or "unknown",
            serialization="onnx",
            dependencies=versions_of({"onnxruntime", "numpy", "tokenizers"}),
            hyperparameters={"model": model.kind, "opsets": {"ai.onnx": OPSET}},
            loader={"file": MODEL_FILE, "files": [TOKENIZER_FILE]},
        )

    def load(self, files: Mapping[str, bytes], loader: Mapping[str, Any]) -> TextPredictor:
        from tokenizers import Tokenizer

        session = OnnxFlavor().load(files, loader)._session
        return TextPredictor(session, Tokenizer.from_str(files[TOKENIZER_FILE].decode()))

    def describe(
        self, model: Any, example: Any, declared: Declared | None = None
    ) -> tuple[Description, Outputs]:
        predictor = self.load(
            {MODEL_FILE: model.graph, TOKENIZER_FILE: model.tokenizer.encode()},
            {"file": MODEL_FILE},
        )
        facts = dict(model.facts)
        outputs = predictor.task_outputs(example, model.task, facts)
        if outputs.outputs is not None:
            facts["width"] = int(outputs.outputs.shape[1])
        return Description(model.task, tuple(outputs.named()), facts), outputs

    def to_onnx(self, model: Any, input_example: Any) -> bytes | None:
        raise Unsupported(
            "its ONNX graph takes token ids: the tokenizers library tokenizes each text "
            "before onnxruntime runs it"
        )


class TextPredictor:
    """Texts in (a Series, a list, a one-column frame or array), the graph's outputs out."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = [spec.name for spec in session.get_inputs()]
        self._outputs = [output.name for output in session.get_outputs()]

    def raw(self, inputs: Any) -> dict[str, Any]:
        """Every output by name, in graph order."""
        encodings = self._tokenizer.encode_batch(_texts(inputs))
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        return dict(zip(self._outputs, self._session.run(None, feed), strict=True))

    def task_outputs(self, inputs: Any, task: str, facts: Mapping[str, Any]) -> Outputs:
        """The task's outputs (see :func:`ferry.flavors.onnx.outputs_by_task`)."""
        return outputs_by_task(self.raw(inputs), task, facts)

    def predict(self, inputs: Any) -> np.ndarray:
        """Labels for a classifier, embeddings for an encoder."""
        return np.asarray(next(iter(self.raw(inputs).values())))


def _texts(inputs: Any) -> list[str]:
    """One string per row from a Series, list, one-column frame or (n, 1) array."""
    if hasattr(inputs, "columns"):
        if inputs.shape[1] != 1:
            raise InvalidInput(f"a text model takes one text column, not {inputs.shape[1]}")
        inputs = inputs.iloc[:, 0]
    texts = np.asarray(list(inputs) if hasattr(inputs, "iloc") else inputs, dtype=object)
    texts = texts.ravel() if texts.ndim == 2 and texts.shape[1] == 1 else texts
    if texts.ndim != 1 or not all(isinstance(text, str) for text in texts):
        raise InvalidInput("a text model takes one string per row (records of {'text': ...})")
    return [str(text) for text in texts]


def _task_of(model: Any) -> str:
    return "classifier" if isinstance(model, TextClassifier) else "embedding"


def _export_encoder(encoder: Any, texts: list[str]) -> ExportedText:
    graph, tokenizer = _encoder_graph(encoder, texts)
    exported = ExportedText(graph, tokenizer, "embedding", {}, _kind(encoder))
    _check(exported, texts, {"outputs": encoder.encode(texts)})
    return exported


def _export_classifier(model: TextClassifier, texts: list[str]) -> ExportedText:
    """The encoder's graph with the head's (skl2onnx, no ZipMap) joined to its embeddings."""
    import onnx
    from skl2onnx import to_onnx

    encoder_graph, tokenizer = _encoder_graph(model.encoder, texts)
    encoder = onnx.load_from_string(encoder_graph)
    embeddings = model.encoder.encode(texts)
    width = int(embeddings.shape[1])
    head = to_onnx(
        model.head, np.zeros((1, width), dtype=np.float32), options={"zipmap": False},
        target_opset={"": OPSET, "ai.onnx.ml": 3},
    )  # fmt: skip
    head.ir_version = encoder.ir_version
    joined = onnx.compose.merge_models(
        encoder, head, io_map=[("outputs", head.graph.input[0].name)], prefix2="head_"
    )
    classes = np.asarray(model.head.classes_).tolist()
    exported = ExportedText(
        joined.SerializeToString(), tokenizer, "classifier", {"classes": classes},
        f"{_kind(model.encoder)} + {_kind(model.head)}",
    )  # fmt: skip
    expected = model.head.predict(embeddings), model.head.predict_proba(embeddings)
    _check(exported, texts, {"predictions": expected[0], "probabilities": expected[1]})
    return exported


_EXPORTED: dict[str, tuple[bytes, str]] = {}
"""The last encoder exported, by the hash of its weights and settings: registering an encoder
and then a classifier on it exports the transformer once (it takes seconds)."""


def _encoder_graph(encoder: Any, texts: list[str]) -> tuple[bytes, str]:
    """The transformer, mean pooling and normalisation as one graph, and the tokenizer."""
    key = _fingerprint(encoder)
    if key not in _EXPORTED:
        _EXPORTED.clear()
        _EXPORTED[key] = _export_encoder_graph(encoder, texts)
    return _EXPORTED[key]


def _fingerprint(encoder: Any) -> str:
    """A hash of everything the exported graph and tokenizer depend on: every weight, the
    module layout and the maximum length."""
    digest = hashlib.sha256(f"{encoder!r}|{encoder.max_seq_length}".encode())
    for name, tensor in encoder.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _export_encoder_graph(encoder: Any, texts: list[str]) -> tuple[bytes, str]:
    import torch

    transformer, pooling = encoder[0], encoder[1]
    mode = pooling.get_config_dict().get("pooling_mode")
    if mode != "mean" or not hasattr(transformer, "auto_model"):
        raise Unsupported(
            f"ferry exports sentence encoders with mean pooling (this one: {mode}); export "
            "it to ONNX yourself and register the .onnx file"
        )
    normalise = any(type(module).__name__ == "Normalize" for module in encoder)
    tokenizer = _tokenizer(encoder)
    encodings = tokenizer.encode_batch(texts)
    tensors = tuple(
        torch.tensor([getattr(e, key) for e in encodings], dtype=torch.int64)
        for key in ("ids", "attention_mask", "type_ids")
    )
    module = _pooled(transformer.auto_model, normalise)
    axes = {name: {0: "rows", 1: "tokens"} for name in _TOKEN_INPUTS} | {"outputs": {0: "rows"}}
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(), evaluating(module):
        warnings.simplefilter("ignore")  # the TorchScript exporter says it is deprecated
        target = Path(folder) / MODEL_FILE
        torch.onnx.export(
            module, tensors, target, input_names=list(_TOKEN_INPUTS), output_names=["outputs"],
            dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
        return target.read_bytes(), tokenizer.to_str()


def _tokenizer(encoder: Any) -> Any:
    """The encoder's fast tokenizer, padding to the longest text and truncating as it does."""
    from tokenizers import Tokenizer

    backend = getattr(encoder.tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise Unsupported("this encoder has no fast (tokenizers) tokenizer to save")
    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.enable_padding()
    tokenizer.enable_truncation(int(encoder.max_seq_length))
    return tokenizer


def _pooled(transformer: Any, normalise: bool) -> Any:
    import torch

    class Pooled(torch.nn.Module):
        """Mean of the token vectors under the attention mask, normalised like the encoder."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
        ) -> torch.Tensor:
            tokens = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
            weights = mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1) if normalise else pooled

    return Pooled()


def _check(exported: ExportedText, texts: list[str], expected: Mapping[str, Any]) -> None:
    """Refuse a graph that answers otherwise than the libraries it came from."""
    predictor = SentencesFlavor().load(
        {MODEL_FILE: exported.graph, TOKENIZER_FILE: exported.tokenizer.encode()},
        {"file": MODEL_FILE},
    )
    answer = predictor.task_outputs(texts, exported.task, exported.facts).named()
    for name, want in expected.items():
        got, want = np.asarray(answer[name]), np.asarray(want)
        same = (
            np.allclose(got.astype(np.float64), want, rtol=TOLERANCE, atol=TOLERANCE)
            if want.dtype.kind == "f" else got.tolist() == want.tolist()
        )  # fmt: skip
        if not same:
            raise Unsupported(
                f"the ONNX export of this {exported.kind} answers {name} otherwise than the "
                "model itself; export it to ONNX yourself and register the .onnx file"
            )


def _kind(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"
