"""A registered version loaded into memory, ready to predict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ferry.errors import Unsupported
from ferry.flavors.base import Predictor


@dataclass(frozen=True)
class LoadedModel:
    """The model of one version, its metadata, and the predict calls it supports."""

    name: str
    version: str
    metadata: dict[str, Any]
    predictor: Predictor

    @property
    def reference(self) -> str:
        """``name:version``, the exact version that answers."""
        return f"{self.name}:{self.version}"

    @property
    def has_predict_proba(self) -> bool:
        """True when the model can give class probabilities."""
        return callable(getattr(self.predictor, "predict_proba", None))

    def predict(self, inputs: Any) -> np.ndarray:
        """Predictions for a frame or array shaped like the input example."""
        return np.asarray(self.predictor.predict(inputs))

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities, one column per class; :class:`Unsupported` when there are none."""
        method = getattr(self.predictor, "predict_proba", None)
        if not callable(method):
            raise Unsupported(f"{self.reference} has no predict_proba (it is not a classifier)")
        return np.asarray(method(inputs))
