"""PyTorch modules: exported to ONNX at registration, served without torch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ferry import Registry
from ferry.errors import InvalidInput, Unsupported


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(home=tmp_path / "home") as opened:
        yield opened


def _mlp(outputs: int, *last: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, outputs), *last
    )


ROWS = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)


def test_a_served_process_never_imports_torch(registry: Registry, tmp_path: Path):
    registry.register(_mlp(3), "mlp", input_example=torch.from_numpy(ROWS))
    script = f"""
import sys
from pathlib import Path
from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
registry = Registry(home={str(registry.settings.home)!r})
registry.load("mlp").outputs([[0.1, 0.2, 0.3, 0.4]])
settings = ServingSettings(models=("mlp",), warmup_iterations=1)
loaded = ModelLoader(registry, ModelCache(Path({str(tmp_path / "cache")!r})), settings).load(
    registry.resolve("mlp")
)
assert loaded.runner.backend == "onnx", loaded.compile_note
print(sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_logits_get_a_softmax_and_probabilities_are_kept(registry: Registry):
    logits = registry.register(_mlp(3), "logits", input_example=ROWS)
    softmax = registry.register(_mlp(3, torch.nn.Softmax(dim=1)), "softmax", input_example=ROWS)
    assert logits.metadata["output_schema"]["scores"] == "logits"
    assert softmax.metadata["output_schema"]["scores"] == "probabilities"
    expected = torch.softmax(_mlp(3)(torch.from_numpy(ROWS)), dim=1).detach().numpy()
    for name in ("logits", "softmax"):
        answer = registry.load(name).outputs(ROWS)
        np.testing.assert_allclose(answer.probabilities, expected, atol=1e-6)
        assert answer.predictions.tolist() == expected.argmax(axis=1).tolist()


def test_one_value_per_row_is_a_regressor_and_a_frame_example_names_columns(
    registry: Registry,
):
    frame = pd.DataFrame(ROWS, columns=["a", "b", "c", "d"])
    version = registry.register(_mlp(1), "value", input_example=frame)
    assert version.metadata["output_schema"]["task"] == "regressor"
    assert [c["name"] for c in version.metadata["input_schema"]["columns"]] == list("abcd")
    expected = _mlp(1)(torch.from_numpy(ROWS)).detach().numpy().ravel()
    np.testing.assert_allclose(registry.load("value").predict(frame), expected, rtol=1e-5)


def test_a_declared_embedding_answers_vectors(registry: Registry):
    version = registry.register(_mlp(5), "vectors", input_example=ROWS, task="embedding")
    schema = version.metadata["output_schema"]
    assert (schema["task"], schema["outputs"], schema["width"]) == ("embedding", ["outputs"], 5)
    expected = _mlp(5)(torch.from_numpy(ROWS)).detach().numpy()
    np.testing.assert_allclose(registry.load("vectors").predict(ROWS), expected, rtol=1e-5)


def test_modules_it_cannot_serve_are_refused_by_kind(registry: Registry):
    class Pair(torch.nn.Module):
        def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return rows, rows

    with pytest.raises(Unsupported, match="Pair answers a tuple"):
        registry.register(Pair(), "pair", input_example=ROWS)
    with pytest.raises(Unsupported, match="one value per row"):
        registry.register(_mlp(3), "wide", input_example=ROWS, task="regressor")
    with pytest.raises(InvalidInput, match="declare only task"):
        registry.register(_mlp(3), "named", input_example=ROWS, outputs={"label": "x"})
    with pytest.raises(InvalidInput, match="exported with its input_example"):
        registry.register(_mlp(3), "no-example", input_example=None)
    assert registry.list_models() == []


def test_a_module_in_training_mode_is_exported_without_dropout_and_left_as_it_was(
    registry: Registry,
):
    module = _mlp(3, torch.nn.Dropout(0.5)).train()
    registry.register(module, "dropout", input_example=ROWS)
    assert module.training and all(part.training for part in module.modules())
    expected = torch.softmax(module.eval()(torch.from_numpy(ROWS)), dim=1).detach().numpy()
    np.testing.assert_allclose(
        registry.load("dropout").outputs(ROWS).probabilities, expected, atol=1e-6
    )
