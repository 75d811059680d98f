"""The executor side of scoring: what it imports, and the columns it answers per task."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tests.flavors.test_sentences import tiny_text_model

from ferry import Registry
from ferry.errors import IntegrityError, Unsupported
from ferry.spark.scoring import output_fields, outputs_frame
from ferry.spark.shipped import ShippedModel, prepare, runner_for


def test_the_executor_side_of_onnx_scoring_imports_no_scikit_learn() -> None:
    code = (
        "import sys\n"
        "import ferry.spark, ferry.spark.shipped, ferry.serving.runners\n"
        "print(sorted(m for m in ('sklearn', 'skl2onnx', 'pyspark') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def shipped(task: str, classes: tuple[object, ...] | None = None) -> ShippedModel:
    return ShippedModel(
        name="m", version="2.1.0", task=task, classes=classes, features=("a",),
        input_schema={}, output_schema={}, backend="onnx", flavor="sklearn", loader={},
        sha256="", payload=None,
    )  # fmt: skip


def test_a_transformer_answers_one_vector_per_row() -> None:
    model = shipped("transformer")
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)

    frame = outputs_frame(model, {"outputs": vectors}, 3)

    assert [field.name for field in output_fields(model)] == ["outputs", "ferry_version"]
    assert [list(row) for row in frame["outputs"]] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert frame["ferry_version"].tolist() == ["2.1.0"] * 3


def test_labels_keep_the_classes_type() -> None:
    model = shipped("classifier", classes=("no", "yes"))
    answer = {"predictions": np.array(["yes", "no"]), "probabilities": np.eye(2)}

    frame = outputs_frame(model, answer, 2)

    assert frame["prediction"].tolist() == ["yes", "no"]
    assert output_fields(model)[0].dataType.typeName() == "string"
    numbered = shipped("classifier", classes=(0, 1))
    assert output_fields(numbered)[0].dataType.typeName() == "long"
    assert (
        outputs_frame(numbered, {"predictions": np.array([1, 0])}, 2)["prediction"].dtype
        == np.int64
    )


def test_bytes_that_changed_on_the_way_are_refused_before_scoring() -> None:
    model = replace(shipped("regressor"), sha256=hashlib.sha256(b"graph").hexdigest())

    with pytest.raises(IntegrityError, match=r"m:2.1.0: the onnx bytes an executor received"):
        runner_for(replace(model, payload=b"graph, altered"))


def test_a_text_model_with_a_tokenizer_beside_its_graph_is_refused_by_name(
    tmp_path: Path,
) -> None:
    with Registry(home=tmp_path / "home") as registry:
        registry.register(tiny_text_model(), "tiny", input_example=["good", "bad"])
        with pytest.raises(Unsupported, match=r"tiny:1.0.0 needs \['tokenizer.json'\]"):
            prepare(registry, "tiny", None)
