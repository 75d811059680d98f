"""A registered version loaded into memory, ready to predict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ferry.errors import Unsupported
from ferry.flavors.tasks import Outputs, native_outputs, task_of


@dataclass(frozen=True)
class LoadedModel:
    """The model of one version, its metadata, and the predict calls it supports."""

    name: str
    version: str
    metadata: dict[str, Any]
    predictor: Any

    @property
    def reference(self) -> str:
        """``name:version``, the exact version that answers."""
        return f"{self.name}:{self.version}"

    @property
    def task(self) -> str:
        """``classifier``, ``regressor``, ``clusterer``, ``transformer`` or ``embedding``."""
        return task_of(self.metadata["output_schema"])

    @property
    def has_predict_proba(self) -> bool:
        """True when the model can give class probabilities."""
        return self.task == "classifier" and callable(
            getattr(self.predictor, "predict_proba", None)
        )

    def outputs(self, inputs: Any) -> Outputs:
        """Everything the model's task answers, one row per input row (see ferry.flavors.tasks)."""
        facts = self.metadata["output_schema"]
        return native_outputs(self.predictor, self.task, self._inputs(inputs), facts)

    def predict(self, inputs: Any) -> np.ndarray:
        """Predictions for a pandas or polars frame or an array shaped like the input example
        (a transformer's output vectors)."""
        outputs = self.outputs(inputs)
        answer = outputs.predictions if outputs.predictions is not None else outputs.outputs
        return np.asarray(answer)

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities, one column per class; :class:`Unsupported` when there are none."""
        method = getattr(self.predictor, "predict_proba", None)
        if not callable(method) or self.task != "classifier":
            raise Unsupported(f"{self.reference} has no predict_proba (it is not a classifier)")
        return np.asarray(method(self._inputs(inputs)))

    def _inputs(self, inputs: Any) -> Any:
        """Inputs as registered: polars becomes pandas, a bare array gets the column names
        (:func:`ferry.registry.schema.conform`); a text model takes one string per row, so a
        one-column frame or a list becomes a Series."""
        import pandas as pd

        from ferry.registry.schema import conform

        schema = self.metadata["input_schema"]
        inputs = conform(inputs, schema)
        if not schema.get("series"):
            return inputs
        if isinstance(inputs, pd.DataFrame) and inputs.shape[1] == 1:
            return inputs.iloc[:, 0]
        if isinstance(inputs, list | tuple | np.ndarray):
            return pd.Series(np.asarray(inputs, dtype=object).ravel())
        return inputs
