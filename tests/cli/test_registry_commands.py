"""The registry commands, driven the way a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import skops.io
from skl2onnx import to_onnx
from typer.testing import CliRunner

from ferry.cli.main import app


@pytest.fixture
def ferry(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture
def files(tmp_path, pipeline, cancer):
    X, _ = cancer
    skops.io.dump(pipeline, tmp_path / "model.skops")
    joblib.dump(pipeline, tmp_path / "model.pkl")
    X.head(20).to_csv(tmp_path / "example.csv", index=False)
    onnx_model = to_onnx(pipeline, X.to_numpy(dtype="float32")[:1], options={"zipmap": False})
    (tmp_path / "model.onnx").write_bytes(onnx_model.SerializeToString())
    return tmp_path


def test_register_show_list_and_versions(ferry, files):
    out = json.loads(ferry("register", str(files / "model.skops"), "--name", "churn",
                           "--input-example", str(files / "example.csv"), "--metric", "f1=0.9",
                           "--tag", "team=growth", "--json").stdout)  # fmt: skip
    assert out["version"] == "1.0.0"
    assert out["metadata"]["performance"] == {"f1": 0.9}
    assert out["metadata"]["tags"] == {"team": "growth"}
    ferry("register", str(files / "model.skops"), "--name", "churn", "--input-example",
          str(files / "example.csv"), "--description", "second")  # fmt: skip
    listed = json.loads(ferry("models", "list", "--json").stdout)
    assert listed[0]["name"] == "churn" and listed[0]["latest"] == "1.1.0"
    shown = json.loads(ferry("models", "show", "churn:1.1.0", "--json").stdout)
    assert shown["metadata"]["description"] == "second"
    versions = json.loads(ferry("models", "versions", "churn", "--json").stdout)
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
    assert "churn" in ferry("models", "list").stdout
    assert "1.1.0" in ferry("models", "versions", "churn").stdout
    assert "second" in ferry("models", "show", "churn").stdout


def test_pickles_need_trust_and_become_skops(ferry, files):
    refused = ferry("register", str(files / "model.pkl"), "--name", "churn", code=1)
    assert "--trust-pickle" in refused.stderr and "Traceback" not in refused.stderr
    out = json.loads(
        ferry(
            "register", str(files / "model.pkl"), "--name", "churn", "--trust-pickle", "--json"
        ).stdout
    )
    assert out["metadata"]["serialization"] == "skops"
    assert out["metadata"]["tags"] == {
        "ferry.input_example": "synthesized",
        "ferry.input_schema": "feature_names_in_",
    }
    assert out["metadata"]["input_shape"] == [-1, 30]


def test_onnx_files_register(ferry, files):
    out = json.loads(
        ferry("register", str(files / "model.onnx"), "--name", "onnx", "--json").stdout
    )
    assert out["metadata"]["flavor"] == "onnx"
    assert out["metadata"]["input_schema"]["dtype"] == "float32"


def test_promote_rollback_history_delete_retain_verify(ferry, files):
    for _ in range(4):
        ferry("register", str(files / "model.skops"), "--name", "churn")
    ferry("promote", "churn:1.0.0", "--alias", "production", "--reason", "first")
    moved = json.loads(ferry("promote", "churn:1.1.0", "--reason", "better", "--json").stdout)
    assert moved["move"]["from"] == "1.0.0" and moved["move"]["to"] == "1.1.0"
    back = json.loads(ferry("rollback", "churn", "--json").stdout)
    assert back["version"] == "1.0.0" and back["move"]["kind"] == "rollback"
    history = json.loads(ferry("history", "churn", "--alias", "production", "--json").stdout)
    assert [(h["from"], h["to"], h["reason"]) for h in history] == [
        (None, "1.0.0", "first"), ("1.0.0", "1.1.0", "better"), ("1.1.0", "1.0.0", None),
    ]  # fmt: skip
    assert "rollback" in ferry("history", "churn").stdout
    refused = ferry("delete", "churn:1.0.0", code=1)
    assert refused.stderr.startswith("error: churn:1.0.0 is the target of alias(es) ['production']")
    assert json.loads(ferry("delete", "churn:1.3.0", "--json").stdout) == {"deleted": "churn:1.3.0"}
    retained = json.loads(ferry("retain", "churn", "--keep", "1", "--json").stdout)
    assert retained["deleted"] == ["1.1.0"]
    report = json.loads(ferry("verify", "--json").stdout)
    assert report["ok"] and report["versions"] == 2


def test_verify_exits_1_on_damage(ferry, files, tmp_path):
    ferry("register", str(files / "model.skops"), "--name", "churn")
    (tmp_path / "home" / "models" / "churn" / "v1.0.0" / "model.skops").write_bytes(b"x")
    result = ferry("verify", code=1)
    assert "sha256 mismatch" in result.stdout and "FAILED" in result.stdout


def test_promote_refuses_a_damaged_version_and_leaves_the_alias(ferry, files, tmp_path):
    ferry("register", str(files / "model.skops"), "--name", "churn")
    ferry("register", str(files / "model.skops"), "--name", "churn")
    ferry("promote", "churn:1.0.0")
    (tmp_path / "home" / "models" / "churn" / "v1.1.0" / "model.skops").write_bytes(b"x")
    refused = ferry("promote", "churn:1.1.0", code=1)
    assert refused.stderr.startswith("error: churn:1.1.0 file 'model.skops' has sha256")
    assert "refusing to point 'production' at it" in refused.stderr
    shown = json.loads(ferry("models", "show", "churn@production", "--json").stdout)
    assert shown["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "ghost"], "error: ghost does not exist"),
        (["models", "show", "Bad Name"], "error: invalid model name"),
        (["rollback", "ghost"], "error: ghost has no alias 'production'"),
        (["register", "missing.skops", "--name", "x"], "does not exist"),
        (["retain", "ghost", "--keep", "-2"], "keep must be"),
        (["register", "model.xyz", "--name", "x"], "cannot register model.xyz: use a"),
    ],
)
def test_errors_are_one_line_without_traceback(ferry, files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    (files / "model.xyz").write_text("no")
    result = ferry(*args, code=1)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_the_installed_ferry_command_runs(tmp_path, files):
    env = {"FERRY_HOME": str(tmp_path / "h"), "PATH": str(Path(sys.executable).parent)}
    ferry_bin = str(Path(sys.executable).parent / "ferry")
    done = subprocess.run(
        [ferry_bin, "register", str(files / "model.skops"), "--name", "churn", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == "1.0.0"
    failed = subprocess.run(
        [ferry_bin, "models", "show", "nope"], capture_output=True, text=True, env=env, check=False
    )
    assert (
        failed.returncode == 1
        and failed.stderr == "error: nope does not exist; see `ferry models list`\n"
    )
