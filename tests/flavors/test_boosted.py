"""What XGBoost and LightGBM share: recorded versions FERRY_COMPAT compares, and lazy imports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import lightgbm
import pandas as pd
import pytest
import xgboost

from ferry import CompatibilityError, Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader

BOOSTING_MODULES = ("xgboost", "lightgbm", "onnxmltools")


def _models(cancer: tuple[pd.DataFrame, pd.Series]) -> dict[str, object]:
    X, y = cancer
    return {
        "xgboost": xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y),
        "lightgbm": lightgbm.LGBMRegressor(n_estimators=4, num_leaves=4, verbose=-1).fit(X, y),
    }


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_model_saved_with_another_minor_of_its_library_is_refused_natively_naming_both(
    sqlite_registry: Registry,
    cancer: tuple[pd.DataFrame, pd.Series],
    recorded_libraries: Callable[[Registry, str, dict[str, str]], None],
    library: str,
) -> None:
    sqlite_registry.register(_models(cancer)[library], "boosted", input_example=cancer[0][:5])
    installed = sqlite_registry.resolve("boosted").metadata["dependencies"][library]
    major, minor, *_ = installed.split(".")
    other = f"{major}.{int(minor) + 1}.0"
    recorded_libraries(sqlite_registry, "boosted", {library: other})
    with pytest.raises(CompatibilityError, match=f"{library} {other} recorded, {installed}"):
        sqlite_registry.load("boosted", strict=True)


def test_a_process_serving_the_compiled_graph_never_imports_the_boosting_libraries(
    tmp_path: Path, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    names = list(_models(cancer))
    with Registry(home=home) as registry:
        for name, model in _models(cancer).items():
            registry.register(model, name, input_example=cancer[0][:5])
        loader = ModelLoader(registry, ModelCache(cache), ServingSettings(models=tuple(names)))
        assert {loader.load(registry.resolve(name)).runner.backend for name in names} == {"onnx"}
    script = f"""
import sys
from pathlib import Path
import ferry.cli.main, ferry.serving.app
from ferry import Registry
from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.loader import ModelLoader
registry = Registry(home={str(home)!r})
loader = ModelLoader(registry, ModelCache(Path({str(cache)!r})), ServingSettings(models=("x",)))
for name in {names!r}:
    loaded = loader.load(registry.resolve(name))
    assert loaded.cache_hit and loaded.runner.backend == "onnx", loaded
print(sorted(m for m in sys.modules if m.split(".")[0] in {BOOSTING_MODULES!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
