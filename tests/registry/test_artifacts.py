"""The artifact store on a local folder and on a real fsspec filesystem (memory://)."""

from __future__ import annotations

import uuid

import fsspec
import numpy as np
import pytest

from ferry import IntegrityError, Registry
from ferry.registry.artifacts import clean_staging, staging


@pytest.fixture
def memory_registry(tmp_path):
    url = f"memory://ferry-{uuid.uuid4().hex}"
    with Registry(home=tmp_path / "home", artifacts=url) as registry:
        yield registry, url


def test_fsspec_store_registers_loads_and_verifies(memory_registry, pipeline, cancer):
    registry, url = memory_registry
    X, _ = cancer
    version = registry.register(pipeline, "churn", input_example=X)
    assert version.location == f"{url}/models/churn/v1.0.0"
    fs = fsspec.filesystem("memory")
    assert fs.exists(f"{url}/models/churn/v1.0.0/metadata.json")
    np.testing.assert_array_equal(registry.load("churn").predict(X), pipeline.predict(X))
    assert registry.verify().ok
    fs.pipe_file(f"{url}/models/churn/v1.0.0/model.skops", b"tampered")
    with pytest.raises(IntegrityError):
        registry.load("churn")
    assert not registry.verify().ok


def test_fsspec_store_cleans_orphans(memory_registry, pipeline, cancer):
    registry, url = memory_registry
    registry.register(pipeline, "churn", input_example=cancer[0])
    fs = fsspec.filesystem("memory")
    fs.pipe_file(f"{url}/models/churn/v2.0.0/model.skops", b"half")
    report = registry.verify()
    assert report.cleaned == [f"{url}/models/churn/v2.0.0"]
    assert not fs.exists(f"{url}/models/churn/v2.0.0")


def test_staging_of_a_live_registration_is_left_alone(tmp_path):
    with staging(tmp_path / ".staging") as folder:
        (folder / "model.skops").write_bytes(b"in progress")
        assert clean_staging(tmp_path / ".staging") == []
        assert folder.exists()
    assert list((tmp_path / ".staging").iterdir()) == []


def test_staging_of_a_dead_registration_is_removed(tmp_path):
    dead = tmp_path / ".staging" / "abc"
    dead.mkdir(parents=True)
    (tmp_path / ".staging" / "abc.lock").touch()
    assert clean_staging(tmp_path / ".staging") == [str(dead)]
    assert list((tmp_path / ".staging").iterdir()) == []


def test_artifacts_in_another_folder_stage_beside_it(tmp_path, pipeline, cancer):
    with Registry(home=tmp_path / "home", artifacts=str(tmp_path / "elsewhere")) as registry:
        registry.register(pipeline, "churn", input_example=cancer[0])
        assert registry.staging_area == tmp_path / "elsewhere" / ".staging"
        assert (tmp_path / "elsewhere" / "models" / "churn" / "v1.0.0" / "metadata.json").is_file()
        assert registry.verify().ok
