"""Model outputs as a frame, so prediction drift runs the same tests as the features.

A 1-D output (labels, scores, a regression) becomes one column named ``prediction`` (or the
Series' name); a 2-D output (class probabilities) becomes ``prediction_0``, ``prediction_1``...;
a DataFrame keeps its columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput
from ferry.frames import to_pandas

PREDICTION = "prediction"


def prediction_frame(predictions: Any, rows: int, role: str) -> pd.DataFrame:
    """``predictions`` (numpy, pandas or polars) as a DataFrame with one row per row of the
    ``role`` data."""
    predictions = to_pandas(predictions)
    if isinstance(predictions, pd.DataFrame):
        frame = predictions.reset_index(drop=True)
    elif isinstance(predictions, pd.Series):
        frame = predictions.reset_index(drop=True).to_frame(name=predictions.name or PREDICTION)
    else:
        array = np.asarray(predictions)
        if array.ndim == 1:
            frame = pd.DataFrame({PREDICTION: array})
        elif array.ndim == 2:
            names = [f"{PREDICTION}_{index}" for index in range(array.shape[1])]
            frame = pd.DataFrame(array, columns=names)
        else:
            raise InvalidInput(f"predictions must be 1-D or 2-D, got shape {array.shape}")
    if len(frame) != rows:
        raise InvalidInput(
            f"the {role} data has {rows} rows but its predictions have {len(frame)}: "
            "pass one prediction per row"
        )
    return frame
