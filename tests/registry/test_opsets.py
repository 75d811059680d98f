"""Opsets read from an ONNX file's bytes agree with the onnx package's own reading."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx

from ferry.errors import InvalidInput
from ferry.registry.opsets import declared_opsets


def test_a_converted_pipeline_declares_what_onnx_reads(pipeline, cancer):
    model = to_onnx(pipeline, cancer[0].to_numpy(dtype=np.float32)[:1])
    expected = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    assert declared_opsets(model.SerializeToString()) == expected
    assert {"ai.onnx", "ai.onnx.ml"} <= expected.keys()


def test_domains_versions_and_large_numbers_survive():
    graph = helper.make_graph(
        [], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 300),
                                                    helper.make_opsetid("com.example", 2**40)])  # fmt: skip
    model.doc_string = "x" * 1000
    assert declared_opsets(model.SerializeToString()) == {"ai.onnx": 300, "com.example": 2**40}


@pytest.mark.parametrize("data", [b"\x42\xff", b"\x0f", b"\x08\xff"])
def test_bytes_that_are_not_a_model_are_refused(data):
    with pytest.raises(InvalidInput, match="not an ONNX model"):
        declared_opsets(data)
