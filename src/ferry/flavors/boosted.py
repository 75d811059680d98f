"""What the gradient-boosting flavors (XGBoost, LightGBM) share: the objectives they serve,
and the numeric table their ONNX converters take."""

from __future__ import annotations

from typing import Any

import numpy as np

from ferry.errors import Unsupported

BOOST_ROUTE = (
    "train it with the scikit-learn wrapper (XGBClassifier/XGBRegressor, LGBMClassifier/"
    "LGBMRegressor) or a classification or regression objective, or export it to ONNX and "
    "register the .onnx with --task"
)


def refuse_kind(kind: str) -> Unsupported:
    """The error for a model that is neither a classifier nor a regressor, e.g. ``a LightGBM
    model with objective 'lambdarank'`` or ``an xgboost.XGBRanker``."""
    return Unsupported(
        f"cannot serve {kind} (ranking, raw margins or labels without probabilities): ferry "
        f"serves classifiers and regressors; {BOOST_ROUTE}"
    )


def kind_of(model: object) -> str:
    """``xgboost.XGBRanker``: the package and class, for messages."""
    return f"{type(model).__module__.split('.')[0]}.{type(model).__qualname__}"


def numeric_width(input_example: Any) -> int:
    """The column count of a numeric example; :class:`Unsupported` when it is not one."""
    rows = np.asarray(input_example)
    if rows.ndim != 2 or rows.dtype.kind not in "biuf":
        raise Unsupported(
            "its inputs are not one numeric table; the ONNX converters take float features, "
            "so it is served natively"
        )
    return int(rows.shape[1])


def float_input(width: int) -> list[tuple[str, Any]]:
    """onnxmltools' ``initial_types``: one float32 tensor ``X`` of ``width`` columns."""
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("X", FloatTensorType([None, width]))]
