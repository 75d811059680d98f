"""The registry contract, run against SQLite and PostgreSQL catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry import (
    AlreadyExists,
    CompatibilityError,
    CompatibilityWarning,
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
    Registry,
    Unsupported,
)

REQUIRED_KEYS = {
    "model_name", "version", "created_at", "framework", "framework_version", "python_version",
    "dependencies", "input_schema", "input_shape", "output_schema", "performance",
    "hyperparameters", "training_dataset", "description", "parent_version", "artifacts", "tags",
}  # fmt: skip


def _folder(registry: Registry, name: str, version: str) -> Path:
    return registry.settings.home / "models" / name / f"v{version}"


def test_first_version_is_1_0_0_and_next_bumps_minor(registry, pipeline, cancer):
    X, _ = cancer
    first = registry.register(pipeline, "churn", input_example=X)
    second = registry.register(pipeline, "churn", input_example=X)
    assert (first.version, second.version) == ("1.0.0", "1.1.0")
    assert second.metadata["parent_version"] == "1.0.0"
    assert first.metadata["parent_version"] is None


def test_changed_input_schema_bumps_major(registry, pipeline, forest, cancer):
    X, y = cancer
    registry.register(pipeline, "churn", input_example=X)
    narrower = forest.__class__(n_estimators=3, random_state=0).fit(X.iloc[:, :5], y)
    bumped = registry.register(narrower, "churn", input_example=X.iloc[:, :5])
    assert bumped.version == "2.0.0"
    assert bumped.metadata["input_shape"] == [-1, 5]


def test_explicit_version_accepted_once(registry, pipeline, cancer):
    X, _ = cancer
    assert registry.register(pipeline, "churn", input_example=X, version="3.2.1").version == "3.2.1"
    with pytest.raises(AlreadyExists, match="3.2.1"):
        registry.register(pipeline, "churn", input_example=X, version="3.2.1")
    with pytest.raises(InvalidInput, match="MAJOR.MINOR.PATCH"):
        registry.register(pipeline, "churn", input_example=X, version="3.2")
    assert registry.register(pipeline, "churn", input_example=X).version == "3.3.0"


def test_metadata_is_complete_and_matches_disk(registry, pipeline, cancer):
    X, y = cancer
    version = registry.register(
        pipeline, "churn", input_example=X, metrics={"f1": 0.97}, training_data=X.assign(y=y),
        description="scaled logistic regression", tags={"team": "growth"},
    )  # fmt: skip
    meta = version.metadata
    assert meta.keys() >= REQUIRED_KEYS
    assert meta["framework"] == "scikit-learn"
    assert {"scikit-learn", "numpy", "scipy", "skops"} <= meta["dependencies"].keys()
    assert meta["hyperparameters"]["logisticregression__max_iter"] == 2000
    assert meta["performance"] == {"f1": 0.97}
    assert meta["training_dataset"]["rows"] == len(X)
    assert len(meta["training_dataset"]["sha256"]) == 64
    assert meta["input_schema"]["columns"][0] == {"name": "mean radius", "dtype": "float64"}
    assert meta["output_schema"]["classes"] == [0, 1]
    assert meta["tags"] == {"team": "growth"}
    on_disk = json.loads((_folder(registry, "churn", "1.0.0") / "metadata.json").read_text())
    assert on_disk == meta
    for artifact in meta["artifacts"]:
        data = (_folder(registry, "churn", "1.0.0") / artifact["file"]).read_bytes()
        assert len(data) == artifact["bytes"]


def test_given_params_replace_read_ones(registry, pipeline, cancer):
    version = registry.register(pipeline, "churn", input_example=cancer[0], params={"C": 1})
    assert version.metadata["hyperparameters"] == {"C": 1}


def test_resolve_by_name_version_and_alias(registry, pipeline, cancer):
    X, _ = cancer
    for _ in range(3):
        registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.1.0")
    assert registry.resolve("churn").version == "1.2.0"
    assert registry.resolve("churn:1.0.0").version == "1.0.0"
    assert registry.get("churn@production").version == "1.1.0"
    assert registry.get("churn@production").aliases == ("production",)
    with pytest.raises(NotFound, match="no alias 'staging'"):
        registry.resolve("churn@staging")
    with pytest.raises(NotFound, match="churn:9.0.0"):
        registry.resolve("churn:9.0.0")
    with pytest.raises(NotFound):
        registry.resolve("nobody")


def test_list_models_and_versions(registry, pipeline, regressor, cancer):
    model, Xd = regressor
    registry.register(pipeline, "churn", input_example=cancer[0])
    registry.register(pipeline, "churn", input_example=cancer[0])
    registry.register(model, "price", input_example=Xd)
    listed = {m["name"]: m for m in registry.list_models()}
    assert listed["churn"]["latest"] == "1.1.0" and listed["churn"]["versions"] == 2
    assert listed["price"]["versions"] == 1
    assert [v.version for v in registry.list_versions("churn")] == ["1.0.0", "1.1.0"]
    with pytest.raises(NotFound, match="no model named 'ghost'"):
        registry.list_versions("ghost")


def test_alias_moves_are_recorded(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.0.0", reason="first")
    registry.set_alias("churn", "production", "1.1.0", reason="better f1")
    assert registry.set_alias("churn", "production", "1.1.0") is None
    moves = registry.alias_history("churn", "production")
    assert [(m.from_version, m.to_version, m.reason) for m in moves] == [
        (None, "1.0.0", "first"),
        ("1.0.0", "1.1.0", "better f1"),
    ]
    assert all(m.actor and m.moved_at for m in moves)
    registry.set_alias("churn", "staging", "1.0.0", reason="try")
    newest = registry.alias_history("churn", newest=2)  # a page's timeline: the last few
    assert [(m.alias, m.reason) for m in newest] == [
        ("production", "better f1"),
        ("staging", "try"),
    ]
    with pytest.raises(NotFound, match="churn:5.0.0"):
        registry.set_alias("churn", "production", "5.0.0")
    with pytest.raises(InvalidInput, match="invalid alias"):
        registry.set_alias("churn", "Prod!", "1.0.0")


def test_rollback_walks_back_through_history(registry, pipeline, cancer):
    X, _ = cancer
    for _ in range(3):
        registry.register(pipeline, "churn", input_example=X)
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        registry.set_alias("churn", "production", version)
    assert registry.rollback("churn").to_version == "1.1.0"
    assert registry.rollback("churn").to_version == "1.0.0"
    assert registry.resolve("churn@production").version == "1.0.0"
    with pytest.raises(Conflict, match="no earlier version"):
        registry.rollback("churn")
    with pytest.raises(NotFound, match="no alias 'staging'"):
        registry.rollback("churn", "staging")
    assert [m.kind for m in registry.alias_history("churn")][-2:] == ["rollback", "rollback"]


def test_rollback_refuses_a_corrupt_target(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.0.0")
    registry.set_alias("churn", "production", "1.1.0")
    model_file = _folder(registry, "churn", "1.0.0") / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match=r"churn:1.0.0 file 'model.skops'"):
        registry.rollback("churn")
    assert registry.resolve("churn@production").version == "1.1.0"


def test_promote_refuses_a_target_whose_files_fail_verification(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.0.0")
    model_file = _folder(registry, "churn", "1.1.0") / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match=r"churn:1.1.0 file 'model.skops'.*'production'"):
        registry.set_alias("churn", "production", "1.1.0")
    (_folder(registry, "churn", "1.2.0") / "input_example.json").unlink()
    with pytest.raises(IntegrityError, match=r"'input_example.json' of churn:1.2.0 is missing"):
        registry.set_alias("churn", "production", "1.2.0")
    assert registry.resolve("churn@production").version == "1.0.0"
    assert len(registry.alias_history("churn", "production")) == 1


def test_load_predicts_like_the_original(registry, pipeline, regressor, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    loaded = registry.load("churn")
    assert loaded.version == "1.0.0" and loaded.reference == "churn:1.0.0"
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), pipeline.predict_proba(X))
    model, Xd = regressor
    registry.register(model, "price", input_example=Xd)
    price = registry.load("price")
    assert not price.has_predict_proba
    with pytest.raises(Unsupported, match="no predict_proba"):
        price.predict_proba(Xd)


def test_load_refuses_a_tampered_artifact(registry, pipeline, cancer):
    registry.register(pipeline, "churn", input_example=cancer[0])
    model_file = _folder(registry, "churn", "1.0.0") / "model.skops"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(IntegrityError, match="refusing to load"):
        registry.load("churn")


def test_load_warns_on_other_library_versions_and_strict_refuses(
    registry, pipeline, cancer, recorded_libraries
):
    registry.register(pipeline, "churn", input_example=cancer[0])
    recorded_libraries(registry, "churn", {"scikit-learn": "0.20.4"})
    with pytest.warns(CompatibilityWarning, match="scikit-learn 0.20.4 recorded"):
        registry.load("churn")
    with pytest.raises(CompatibilityError, match="scikit-learn 0.20.4 recorded"):
        registry.load("churn", strict=True)
    assert registry.verify().ok


def test_delete_refused_while_aliased(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.0.0")
    with pytest.raises(Conflict, match="production"):
        registry.delete_version("churn:1.0.0")
    with pytest.raises(InvalidInput, match="name the version"):
        registry.delete_version("churn")
    assert registry.delete_version("churn:1.1.0").version == "1.1.0"
    assert not _folder(registry, "churn", "1.1.0").exists()
    assert [v.version for v in registry.list_versions("churn")] == ["1.0.0"]


def test_retain_keeps_newest_aliased_and_rollback_targets(registry, pipeline, cancer):
    X, _ = cancer
    for _ in range(6):
        registry.register(pipeline, "churn", input_example=X)
    registry.set_alias("churn", "production", "1.1.0")
    registry.set_alias("churn", "production", "1.2.0")
    registry.set_alias("churn", "staging", "1.3.0")
    result = registry.retain("churn", keep=1)
    assert sorted(result.kept) == ["1.1.0", "1.2.0", "1.3.0", "1.5.0"]
    assert sorted(result.deleted) == ["1.0.0", "1.4.0"]
    assert not _folder(registry, "churn", "1.0.0").exists()
    assert registry.rollback("churn").to_version == "1.1.0"
    with pytest.raises(InvalidInput, match="keep"):
        registry.retain("churn", keep=-1)


def test_verify_reports_damage_and_cleans_leftovers(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    registry.register(pipeline, "churn", input_example=X)
    assert registry.verify().ok
    (_folder(registry, "churn", "1.0.0") / "input_example.json").write_text("{}")
    (_folder(registry, "churn", "1.1.0") / "model.skops").unlink()
    orphan = _folder(registry, "churn", "7.0.0")
    orphan.mkdir()
    (orphan / "model.skops").write_bytes(b"half")
    report = registry.verify()
    assert not report.ok
    problems = {(p["version"], p["file"], p["problem"]) for p in report.problems}
    assert problems == {
        ("1.0.0", "input_example.json", "sha256 mismatch"),
        ("1.1.0", "model.skops", "missing"),
    }
    assert report.cleaned == [str(orphan)]
    assert not orphan.exists()


def test_a_leftover_folder_is_replaced_by_the_next_registration(registry, pipeline, cancer):
    leftover = _folder(registry, "churn", "1.0.0")
    leftover.mkdir(parents=True)
    (leftover / "model.skops").write_bytes(b"from a registration that was killed")
    version = registry.register(pipeline, "churn", input_example=cancer[0])
    assert version.version == "1.0.0"
    np.testing.assert_array_equal(
        registry.load("churn").predict(cancer[0]), pipeline.predict(cancer[0])
    )


def test_failed_registration_leaves_nothing(registry, pipeline, cancer):
    X, _ = cancer
    with pytest.raises(InvalidInput, match="cannot predict on input_example"):
        registry.register(pipeline, "churn", input_example=X.iloc[:, :3])
    with pytest.raises(NotFound):
        registry.resolve("churn")
    assert not (registry.settings.home / "models" / "churn").exists()
    assert list((registry.settings.home / ".staging").iterdir()) == []


@pytest.mark.parametrize("name", ["../evil", "Churn", "", "a" * 65, "x/y", ".hidden", "-x"])
def test_bad_names_are_refused_and_write_nothing(registry, pipeline, cancer, name):
    with pytest.raises(InvalidInput, match="invalid model name"):
        registry.register(pipeline, name, input_example=cancer[0])
    assert not (registry.settings.home / "models").exists()


def test_extras_are_stored_hashed_and_readable(registry, pipeline, cancer, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text('{"mean": 1}')
    registry.register(pipeline, "churn", input_example=cancer[0], extras={"drift.json": profile})
    assert registry.read_artifact("churn", "drift.json") == b'{"mean": 1}'
    with pytest.raises(NotFound, match="no file '../ferry.db'"):
        registry.read_artifact("churn", "../ferry.db")
    with pytest.raises(InvalidInput, match="invalid extra file name"):
        registry.register(pipeline, "churn", input_example=cancer[0], extras={"../x": profile})


def test_input_example_round_trips(registry, pipeline, cancer):
    X, _ = cancer
    registry.register(pipeline, "churn", input_example=X)
    example = registry.input_example("churn")
    pd.testing.assert_frame_equal(example, X.head(10).reset_index(drop=True))


def test_array_models_keep_a_tensor_schema(registry, pipeline, cancer):
    X, y = cancer
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=3000).fit(X.to_numpy(), y)
    version = registry.register(model, "arrays", input_example=X.to_numpy()[:3])
    assert version.metadata["input_schema"] == {
        "type": "tensor",
        "dtype": "float64",
        "shape": [-1, 30],
    }
    example = registry.input_example("arrays")
    np.testing.assert_array_equal(example, X.to_numpy()[:3])
    np.testing.assert_array_equal(
        registry.load("arrays").predict(example), model.predict(X.to_numpy()[:3])
    )


def test_unsupported_models_are_refused(registry):
    with pytest.raises(Unsupported, match="cannot register a builtins.dict"):
        registry.register({"not": "a model"}, "churn", input_example=[[1.0]])
