"""The Open Inference Protocol's tensor datatypes: each name's numpy type.

Apart from ``v2.py`` so that the binary extension (``v2_binary.py``), which ``v2.py``'s adapter
calls, reads them without importing ``v2.py`` back.
"""

from __future__ import annotations

import numpy as np

DATATYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": np.object_,
}  # fmt: skip
