"""``ferry compat``: the table of model version x library x recorded x installed x verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skl2onnx import to_onnx
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.flavors.base import installed_version

SKLEARN = installed_version("scikit-learn") or ""


@pytest.fixture
def home(tmp_path, monkeypatch, pipeline, cancer, recorded_libraries):
    """churn:1.0.0 as this image saves it, churn:1.1.0 as an image with scikit-learn 0.24
    saved it, and an ONNX version saved with libraries this image does not have."""
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    X, _ = cancer
    features = X.to_numpy(dtype=np.float32)
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "churn", input_example=X)
        registry.register(pipeline, "churn", input_example=X)
        recorded_libraries(registry, "churn:1.1.0", {"scikit-learn": "0.24.2"})
        graph = to_onnx(pipeline, features[:1], options={"zipmap": False})
        registry.register(graph, "churn-onnx", input_example=features[:3])
        recorded_libraries(registry, "churn-onnx", {"numpy": "1.2.0"})
    return tmp_path / "home"


def _run(*args: str, code: int):
    result = CliRunner().invoke(app, ["compat", *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_json_rows_name_each_version_library_and_verdict(home):
    rows = json.loads(_run("churn:1.0.0", "churn:1.1.0", "churn-onnx", "--json", code=1).stdout)
    table = {(r["model"], r["library"]): r for r in rows}
    assert set(rows[0]) == {"model", "backend", "library", "recorded", "installed", "verdict"}
    assert table["churn:1.0.0", "scikit-learn"]["verdict"] == "ok"
    old = table["churn:1.1.0", "scikit-learn"]
    assert (old["recorded"], old["installed"], old["verdict"]) == ("0.24.2", SKLEARN, "mismatch")
    assert table["churn:1.1.0", "numpy"]["verdict"] == "ok"
    assert {r["backend"] for r in rows if r["model"] == "churn-onnx:1.0.0"} == {"onnx"}
    assert table["churn-onnx:1.0.0", "numpy"]["verdict"] == "not needed"
    assert table["churn-onnx:1.0.0", "opset ai.onnx"]["verdict"] == "ok"


def test_compatible_versions_exit_0_and_the_table_names_the_fix_otherwise(home):
    ok = _run("churn:1.0.0", "churn-onnx", code=0).stdout
    assert "churn:1.0.0: compatible" in ok and "churn-onnx:1.0.0: compatible" in ok
    refused = _run("churn", code=1).stdout
    assert "library compatibility" in refused
    assert f"scikit-learn 0.24.2 recorded, {SKLEARN} installed" in refused
    assert 'pip install "scikit-learn==0.24.*"' in refused


def test_an_unknown_reference_is_one_line_naming_it(home):
    result = _run("nope:1.0.0", code=1)
    assert result.stderr.startswith("error: nope:1.0.0 does not exist")


def test_ferry_predict_follows_ferry_compat(home, cancer, monkeypatch, tmp_path):
    cancer[0].head(5).to_csv(tmp_path / "rows.csv", index=False)
    score = ["predict", "churn:1.1.0", "-i", str(tmp_path / "rows.csv"), "-o"]
    refused = CliRunner().invoke(app, [*score, str(tmp_path / "refused.csv")])
    assert refused.exit_code == 1 and "scikit-learn 0.24.2 recorded" in refused.stderr
    assert not (tmp_path / "refused.csv").exists()
    monkeypatch.setenv("FERRY_COMPAT", "warn")
    warned = CliRunner().invoke(app, [*score, str(tmp_path / "warned.csv")])
    assert warned.exit_code == 0, warned.stderr
    assert warned.stderr.startswith("warning: churn:1.1.0 was saved with other libraries")
    assert "wrote 5 predictions" in warned.stdout
    monkeypatch.setenv("FERRY_COMPAT", "off")
    quiet = CliRunner().invoke(app, [*score, str(tmp_path / "quiet.csv")])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.setenv("FERRY_COMPAT", "sloppy")
    wrong = CliRunner().invoke(app, [*score, str(tmp_path / "wrong.csv")])
    assert wrong.exit_code == 1 and "FERRY_COMPAT='sloppy': choose one of" in wrong.stderr
