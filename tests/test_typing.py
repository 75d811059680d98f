"""Users' type checkers see ferry's types: the package ships py.typed and its API is typed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import ferry

USER_SCRIPT = """
import numpy as np
import pandas as pd
from ferry import Registry
from ferry.drift import DriftDetector

registry = Registry("home")
version = registry.register(object(), "churn", input_example=pd.DataFrame({"a": [1.0]}))
reveal_type(version)
reveal_type(version.metadata)
loaded = registry.load("churn@production")
reveal_type(loaded)
reveal_type(loaded.predict(np.zeros((1, 1))))
report = DriftDetector().fit(pd.DataFrame({"a": [1.0]})).check(np.zeros((1, 1)))
reveal_type(report)
reveal_type(report.drift_share)
reveal_type(registry.import_mlflow("models:/churn/1"))
"""


def test_the_package_is_marked_typed() -> None:
    assert (Path(ferry.__file__).parent / "py.typed").is_file()


def test_the_wheel_ships_py_typed(built_wheel: list[str]) -> None:
    assert "ferry/py.typed" in built_wheel


def test_a_user_script_gets_real_types_from_mypy(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    # ferry is found the way a user's checker finds an installed package: through sys.path
    # (PYTHONPATH or the installed package), where mypy demands py.typed.
    src = str(Path(ferry.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    env.pop("MYPYPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", str(script)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=240, check=False,
    )  # fmt: skip

    revealed = re.findall(r'Revealed type is "(.*)"', result.stdout.replace("builtins.", ""))
    assert "py.typed" not in result.stdout, result.stdout
    version = f"{ferry.ModelVersion.__module__}.ModelVersion"
    assert revealed == [
        version,
        "dict[str, Any]",
        f"{ferry.LoadedModel.__module__}.LoadedModel",
        "numpy.ndarray[tuple[Any, ...], numpy.dtype[Any]]",
        "ferry.drift.report.DriftReport",
        "float",
        version,
    ], result.stdout
