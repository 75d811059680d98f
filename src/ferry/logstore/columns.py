"""numpy arrays to Arrow arrays over their own buffers, without ``pyarrow.array``.

``pyarrow.array`` asks pandas whether its argument is a Series, which imports pandas (about
0.3 s of interpreter time holding the GIL, and ~60 MB) at the prediction log's first flush: a
serving process's event loop stalled for that long, and its idle memory grew by as much. Numbers,
booleans, text and timestamps are built here from buffers; anything else (object arrays of mixed
kinds) goes through ``pyarrow.array`` as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def numbers(values: np.ndarray, mask: np.ndarray | None = None) -> Any:
    """An Arrow array of a numeric or boolean ``values`` (``mask`` true marks a null)."""
    import pyarrow as pa

    validity = None if mask is None else pa.py_buffer(np.packbits(~mask, bitorder="little"))
    if values.dtype.kind == "b":
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), len(values), [validity, data])
    contiguous = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(contiguous.dtype)
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(contiguous)])


def texts(values: Sequence[str]) -> Any:
    """An Arrow string array of ``values``."""
    import pyarrow as pa

    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.large_string(), len(encoded), buffers).cast(pa.string())


def timestamps(micros: np.ndarray) -> Any:
    """An Arrow UTC timestamp array from microseconds since the epoch."""
    import pyarrow as pa

    data = pa.py_buffer(np.ascontiguousarray(micros, dtype=np.int64))
    return pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), len(micros), [None, data])


def column(values: np.ndarray) -> Any:
    """An Arrow array of ``values``; mixed kinds (``"x"`` beside ``1``) are kept as text."""
    if values.dtype.kind in "biuf":
        return numbers(values)
    listed = values.tolist()
    if values.dtype.kind == "U" or all(isinstance(value, str) for value in listed):
        return texts(listed)
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values.astype(str))
