"""Reading the server's prediction log: windows, versions, feedback joined by request id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ferry.errors import InvalidInput
from ferry.training.current import from_log
from ferry.training.prediction_log import JOINED_LABEL, VERSION, read_window

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rows():
    return pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) * 2})


def test_a_window_holds_rows_after_start_up_to_end(tmp_path, rows, prediction_log):
    prediction_log(tmp_path, "m", "1.0.0", rows, np.zeros(10, int), step=timedelta(hours=6))
    everything = read_window(tmp_path, "m", None, T0 + timedelta(days=10))
    assert everything.rows == 10
    assert set(everything.frame[VERSION]) == {"1.0.0"}
    middle = read_window(tmp_path, "m", T0 + timedelta(hours=6), T0 + timedelta(hours=24))
    assert middle.frame["a"].tolist() == [2.0, 3.0, 4.0]
    assert read_window(tmp_path, "other", None, T0 + timedelta(days=1)).rows == 0


def test_old_day_folders_are_not_opened(tmp_path, rows, prediction_log):
    prediction_log(tmp_path, "m", "1.0.0", rows, np.zeros(10, int))
    old = tmp_path / "predictions" / "model=m" / "version=1.0.0" / "day=2026-02-01"
    old.mkdir(parents=True)
    (old / "part-broken.parquet").write_bytes(b"not parquet")
    window = read_window(tmp_path, "m", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert window.rows == 10 and window.notes == ()
    everything = read_window(tmp_path, "m", None, T0 + timedelta(days=1))
    assert everything.rows == 10 and "part-broken.parquet" in everything.notes[0]


def test_feedback_joins_by_request_id_newest_label_wins(
    tmp_path, rows, prediction_log, feedback_log
):
    ids = prediction_log(tmp_path, "m", "1.0.0", rows, np.zeros(10, int))
    feedback_log(tmp_path, "m", ids[:4], [1, 1, 1, 1], at=T0 + timedelta(hours=1))
    feedback_log(tmp_path, "m", ids[:2], [0, 0], at=T0 + timedelta(days=1))
    window = read_window(tmp_path, "m", None, T0 + timedelta(days=2))
    labels = window.frame[JOINED_LABEL].tolist()
    assert labels[:4] == [0, 0, 1, 1]
    assert pd.isna(labels[4:]).all()


def test_current_data_uses_the_champions_rows_for_outputs(tmp_path, rows, prediction_log):
    prediction_log(tmp_path, "m", "1.0.0", rows, np.zeros(10, int), confidence=np.full(10, 0.9))
    prediction_log(tmp_path, "m", "2.0.0", rows.head(3), np.ones(3, int),
                   start=T0 + timedelta(minutes=1))  # fmt: skip
    window = read_window(tmp_path, "m", None, T0 + timedelta(days=1))
    current = from_log(window, ["a", "b"], "1.0.0", min_rows=5)
    assert current.rows == 10 and current.predictions is not None
    assert set(current.predictions.tolist()) == {0}
    assert current.confidence is not None and len(current.confidence) == 10
    features_only = from_log(window, ["a", "b"], "3.0.0", min_rows=5)
    assert features_only.rows == 13 and features_only.predictions is None
    assert "answered 0 of 13" in features_only.notes[-1]
    with pytest.raises(InvalidInput, match="lacks columns the champion uses: \\['c'\\]"):
        from_log(window, ["a", "c"], "1.0.0", min_rows=5)
