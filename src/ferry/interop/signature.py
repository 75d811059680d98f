"""An MLflow model signature's inputs as the dtypes and column order of ferry's input schema.

ferry infers a version's input schema from its input example, so the signature is applied to
the example: columns put in the signature's order and cast to its types. A model logged
without an example still gets one row built from the signature.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput

COLUMN_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
}
"""MLflow column types and the numpy dtype each becomes; others (string, binary, datetime)
keep the example's own dtype."""


def parse_inputs(inputs: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The signature's input specs (MLmodel stores them as a JSON string)."""
    if inputs is None:
        return []
    specs = json.loads(inputs) if isinstance(inputs, str) else inputs
    if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
        raise InvalidInput(f"the MLmodel signature's inputs are not a list of specs: {inputs!r}")
    return specs


def apply_signature(
    example: pd.DataFrame | np.ndarray, specs: list[dict[str, Any]]
) -> pd.DataFrame | np.ndarray:
    """The example with the signature's column order and types (unchanged without specs)."""
    if not specs:
        return example
    if _is_tensor(specs):
        dtype = specs[0]["tensor-spec"]["dtype"]
        return np.asarray(example, dtype=dtype)
    names = [str(spec.get("name", index)) for index, spec in enumerate(specs)]
    frame = (
        example
        if isinstance(example, pd.DataFrame)
        else pd.DataFrame(np.asarray(example).reshape(len(example), -1), columns=names)
    )
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InvalidInput(
            f"the input example lacks columns {missing} that the MLflow signature declares"
        )
    frame = frame[names]
    dtypes = {
        name: COLUMN_DTYPES[spec["type"]]
        for name, spec in zip(names, specs, strict=True)
        if spec.get("type") in COLUMN_DTYPES
    }
    try:
        return frame.astype(dtypes)
    except (TypeError, ValueError) as error:
        raise InvalidInput(
            f"the input example does not fit the MLflow signature: {error}"
        ) from None


def example_from_signature(specs: list[dict[str, Any]]) -> pd.DataFrame | np.ndarray | None:
    """One zero row shaped as the signature says; None when it names no usable shape."""
    if not specs:
        return None
    if _is_tensor(specs):
        tensor = specs[0]["tensor-spec"]
        shape = [1 if size == -1 else int(size) for size in tensor["shape"]]
        return np.zeros(shape, dtype=tensor["dtype"])
    row = {str(spec.get("name", i)): [_zero(spec.get("type"))] for i, spec in enumerate(specs)}
    return apply_signature(pd.DataFrame(row), specs)


def _is_tensor(specs: list[dict[str, Any]]) -> bool:
    if specs[0].get("type") != "tensor":
        return False
    if len(specs) > 1:
        raise InvalidInput("ferry serves models with one input tensor; this signature has several")
    return True


def _zero(kind: Any) -> Any:
    if kind == "string":
        return ""
    if kind == "boolean":
        return False
    return 0
