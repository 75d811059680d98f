"""``ferry bake`` and ``ferry serve --bundle`` as a user types them."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from ferry.cli.main import app


@pytest.fixture
def home(tmp_path, monkeypatch, pipeline, cancer):
    from ferry import Registry

    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    with Registry(home=tmp_path / "home") as registry:
        registry.register(pipeline, "cancer", input_example=cancer[0])
        registry.set_alias("cancer", "production", "1.0.0")
    return tmp_path


def ferry(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_bake_writes_a_bundle_with_every_hash(home):
    result = ferry("bake", "cancer@production", "--output", str(home / "bundle"), "--json")
    assert result.exit_code == 0, result.stderr
    baked = json.loads(result.stdout)
    assert baked["reference"] == "cancer:1.0.0" and baked["backend"] == "onnx"
    description = json.loads((home / "bundle" / "bundle.json").read_text())
    assert description["aliases"] == ["production"]
    on_disk = {
        p.relative_to(home / "bundle").as_posix()
        for p in (home / "bundle").rglob("*")
        if p.is_file()
    }
    assert on_disk == set(description["files"]) | {"bundle.json"}
    assert any(name.startswith("compiled/") and name.endswith(".onnx") for name in on_disk)
    again = ferry("bake", "cancer:1.0.0", "--output", str(home / "bundle"))  # its own bundle
    assert again.exit_code == 0 and "baked cancer:1.0.0 into" in again.stdout
    assert not [p for p in home.iterdir() if p.name.startswith(".bundle.")]


def test_bake_refuses_a_folder_it_did_not_write(home):
    target = home / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = ferry("bake", "cancer@production", "--output", str(target))
    assert result.exit_code == 1
    assert "is not empty and is not a ferry bundle: refusing to write into it" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert ferry("bake", "cancer@production", "--output", str(home / "bundle")).exit_code == 0
    (home / "bundle" / "notes.txt").write_text("added by hand")
    replaced = ferry("bake", "cancer@production", "--output", str(home / "bundle"))
    assert replaced.exit_code == 1 and "files ferry did not write (notes.txt)" in replaced.stderr
    assert (home / "bundle" / "notes.txt").read_text() == "added by hand"


def test_bake_refuses_a_damaged_version(home):
    model = home / "home" / "models" / "cancer" / "v1.0.0" / "model.skops"
    model.write_bytes(model.read_bytes()[:-4] + b"oops")
    result = ferry("bake", "cancer@production", "--output", str(home / "bundle"))
    assert result.exit_code == 1 and "cancer:1.0.0 file 'model.skops' has sha256" in result.stderr
    assert not (home / "bundle").exists()


def test_serve_bundle_names_a_folder_that_is_not_one(home, monkeypatch):
    monkeypatch.delenv("FERRY_MODEL", raising=False)
    result = ferry("serve", "--bundle", str(home))
    assert result.exit_code == 1 and "is not a ferry bundle (no bundle.json)" in result.stderr
    assert ferry("bake", "cancer", "--output", str(home / "bundle")).exit_code == 0
    shutil.rmtree(home / "home")
    wrong = ferry("serve", "cancer@staging", "--bundle", str(home / "bundle"))
    assert wrong.exit_code == 1
    assert (
        "cancer@staging is not in the bundle" in wrong.stderr
        and "holds cancer:1.0.0" in wrong.stderr
    )
