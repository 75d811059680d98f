"""Text models served by the tokenizers library and onnxruntime, on a tiny hand-made model
(the MiniLM rows of the agreement suite cover the real encoder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from ferry import Registry
from ferry.errors import InvalidInput
from ferry.flavors.sentences import ExportedText

VOCABULARY = {"[UNK]": 0, "[PAD]": 3, "good": 1, "bad": 2}


def tiny_text_model() -> ExportedText:
    """Token ids in; per text, the mean id over its real tokens (a width-1 embedding)."""
    tokenizer = Tokenizer(WordLevel(VOCABULARY, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.enable_padding(pad_id=3, pad_token="[PAD]")
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["rows", "tokens"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["rows", "tokens"])
    out = helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["rows", 1])
    nodes = [
        helper.make_node("Mul", ["input_ids", "attention_mask"], ["kept"]),
        helper.make_node("Cast", ["kept"], ["kept_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["kept_f", "axis"], ["total"], keepdims=1),
        helper.make_node("ReduceSum", ["mask_f", "axis"], ["count"], keepdims=1),
        helper.make_node("Div", ["total", "count"], ["outputs"]),
    ]
    axis = helper.make_tensor("axis", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(nodes, "tiny", [ids, mask], [out], initializer=[axis])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return ExportedText(model.SerializeToString(), tokenizer.to_str(), "embedding", {}, "tiny")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(home=tmp_path / "home") as opened:
        yield opened


def test_texts_are_tokenized_and_padded_one_answer_per_text(registry: Registry):
    version = registry.register(tiny_text_model(), "tiny", input_example=["good", "bad good"])
    assert {a["file"] for a in version.metadata["artifacts"]} >= {"model.onnx", "tokenizer.json"}
    assert version.metadata["loader"]["files"] == ["tokenizer.json"]
    assert version.metadata["input_schema"]["series"] is True
    answer = registry.load("tiny").predict(["good", "bad bad good", "unknown"])
    np.testing.assert_allclose(answer.ravel(), [1.0, 5 / 3, 0.0])


def test_rows_that_are_not_one_text_each_are_refused(registry: Registry):
    registry.register(tiny_text_model(), "tiny", input_example=["good", "bad"])
    with pytest.raises(InvalidInput, match="one string per row"):
        registry.load("tiny").predict([1.5, 2.5])
