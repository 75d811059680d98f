from __future__ import annotations

import numpy as np
import pytest

from ferry import InvalidInput


@pytest.mark.parametrize(
    ("serialization", "file"), [("joblib", "model.joblib"), ("pickle", "model.pkl")]
)
def test_opt_in_serializations_round_trip(sqlite_registry, forest, cancer, serialization, file):
    X, _ = cancer
    version = sqlite_registry.register(forest, "rf", input_example=X, serialization=serialization)
    assert version.metadata["serialization"] == serialization
    assert [a["file"] for a in version.metadata["artifacts"]] == ["input_example.json", file]
    np.testing.assert_array_equal(sqlite_registry.load("rf").predict(X), forest.predict(X))


def test_skops_records_exactly_the_types_it_must_trust(sqlite_registry, forest, cancer):
    version = sqlite_registry.register(forest, "rf", input_example=cancer[0])
    assert version.metadata["loader"]["trusted_types"] == ["sklearn.tree._tree.Tree"]


def test_unknown_serialization_is_refused(sqlite_registry, forest, cancer):
    with pytest.raises(InvalidInput, match="unknown serialization 'cloudpickle'"):
        sqlite_registry.register(forest, "rf", input_example=cancer[0], serialization="cloudpickle")
