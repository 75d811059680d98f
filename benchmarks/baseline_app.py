"""The server users write today: FastAPI + a pickle loaded at start-up + ``predict``.

Started by ``benchmarks/serving.py`` with ``MODEL_PATH`` pointing at a joblib file.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

model = joblib.load(os.environ["MODEL_PATH"])
app = FastAPI()


class Rows(BaseModel):
    rows: list[list[float]]


@app.post("/predict")
def predict(body: Rows) -> dict[str, list[int]]:
    return {"predictions": model.predict(np.asarray(body.rows)).tolist()}
