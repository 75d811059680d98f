"""numpy to Arrow without pandas: values round-trip, and a flush never imports pandas."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from ferry.logstore import columns


def test_numbers_keep_their_values_type_and_nulls() -> None:
    values = np.array([0.5, np.nan, 2.0])
    built = columns.numbers(values, mask=np.isnan(values))
    assert built.type == pa.float64()
    assert built.to_pylist() == [0.5, None, 2.0]
    assert columns.numbers(np.array([3, 1], dtype=np.int32)).type == pa.int32()
    strided = np.arange(6, dtype=np.float32).reshape(3, 2)[:, 1]  # a column of a row-major block
    assert columns.numbers(strided).to_pylist() == [1.0, 3.0, 5.0]


def test_booleans_texts_and_timestamps() -> None:
    assert columns.column(np.array([True, False, True] * 3)).to_pylist() == [True, False, True] * 3
    assert columns.column(np.array(["a", "é", ""])).to_pylist() == ["a", "é", ""]
    assert columns.column(np.array(["x", "y"], dtype=object)).type == pa.string()
    stamp = columns.timestamps(np.array([1_700_000_000_000_000]))
    assert stamp.to_pylist() == [datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]


def test_mixed_kinds_become_text() -> None:
    assert columns.column(np.array(["x", 1], dtype=object)).to_pylist() == ["x", "1"]


FLUSH = """
import sys, tempfile, numpy as np
from ferry.logstore.store import LogStore
from ferry.serving.capture import PredictionLog
log = PredictionLog(LogStore(tempfile.mkdtemp()), replica="r", sample_rate=1.0,
                    flush_rows=10**6, flush_seconds=60)
for label in (np.array([3]), np.array(["cat"], dtype=object)):
    log.record("m", "1.0.0", ["a", "b"], "id", np.ones((1, 2)), label, np.array([0.9]))
    log.flush()
assert log.state.written == 2 and log.state.failures == 0, log.state
print("pandas" in sys.modules)
"""


def test_a_flush_does_not_import_pandas() -> None:
    """pandas at the first flush held the GIL ~0.3 s (a latency spike) and grew idle memory."""
    out = subprocess.run([sys.executable, "-c", FLUSH], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
