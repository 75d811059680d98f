from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferry import InvalidInput
from ferry.registry.dataset import fingerprint


def test_same_values_from_csv_and_parquet_hash_alike(tmp_path):
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": [1, 2, 3]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    csv, parquet = fingerprint(tmp_path / "d.csv"), fingerprint(tmp_path / "d.parquet")
    assert csv["sha256"] == parquet["sha256"] == fingerprint(frame)["sha256"]
    assert (csv["name"], csv["rows"], csv["columns"]) == ("d.csv", 3, ["a", "b"])


def test_one_changed_value_changes_the_hash():
    frame = pd.DataFrame({"a": np.arange(100.0)})
    changed = frame.copy()
    changed.loc[57, "a"] = -1.0
    assert fingerprint(frame)["sha256"] != fingerprint(changed)["sha256"]


def test_mappings_pass_through_and_unknown_keys_are_refused(tmp_path):
    given = {"name": "warehouse.churn", "sha256": "ab" * 32, "rows": 10, "columns": ["x"]}
    assert fingerprint(given) == given
    with pytest.raises(InvalidInput, match="unknown training_data keys"):
        fingerprint({"name": "x", "owner": "me"})
    with pytest.raises(InvalidInput, match="does not exist"):
        fingerprint(tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="training_data must be"):
        fingerprint(object())
