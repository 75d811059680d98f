"""Schemas of what every protocol answers a prediction with: the task's outputs."""

from __future__ import annotations

from ferry.serving.openapi.parts import Schema, array

LABEL: Schema = {"type": ["number", "string", "boolean"], "description": "a label or a value"}
VECTOR: Schema = array({"type": "number"})

OUTPUTS: dict[str, Schema] = {
    "predictions": array(LABEL, description="one label (classifier), value (regressor) or "
                                            "cluster id (clusterer) per row"),
    "probabilities": array(VECTOR, description="classifier: one probability per class per row"),
    "distances": array(VECTOR, description="clusterer: the distance to every centre per row"),
    "confidence": array({"type": "number", "minimum": 0, "maximum": 1},
                        description="clusterer: confidence in [0, 1] per row"),
    "outputs": array(VECTOR, description="transformer or embedding: one vector per row"),
}  # fmt: skip
"""The outputs by task, keyed as the plain, MLflow and KServe v1 answers name them."""
OTHER_OUTPUT: Schema = array(
    {}, description="an ONNX file's output beyond its task's, by its graph name: one per row"
)
"""What MLflow and KServe v1 answers carry beside the task's outputs (``named_outputs`` in
the plain answer)."""
