"""Copies of answered requests, answered by the other variant and compared with the answer.

Shadow copies wait in the bounded queue (``shadow.py``) for the candidate; a canary's copy
rides in the primary's next micro-batch (``rollout.py``). Either way, what the other variant answered is counted here into the window's figures: rows compared,
rows on which the two disagreed, and (for a distance bound) what each predicted.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from ferry.flavors.tasks import Outputs
from ferry.serving.batching import runs_on_loop
from ferry.serving.distance import count_predictions
from ferry.serving.figures import WindowFigures
from ferry.serving.loader import LoadedVersion
from ferry.serving.shadow import Copy, disagreements
from ferry.serving.traffic import CANDIDATE


async def answer_shadow(
    figures: WindowFigures, counts_predictions: bool, loaded: LoadedVersion, copy: Copy
) -> None:
    """Answer a shadow copy with the candidate (``loaded``): timed and counted as its request.

    One copy at a time, never batched: at saturation the queue fills and drops, which is what
    keeps the primary's p99 (batching the waiting copies answered every one of them, and the
    primary's p99 rose from 0.7-1.1x to 1.2-1.3x of no rollout)."""
    started = time.perf_counter()
    candidate = figures.variants[CANDIDATE]
    try:
        outputs = await _run(loaded, copy.rows)
    except Exception:
        candidate.observe(time.perf_counter() - started, failed=True)
        return
    candidate.observe(time.perf_counter() - started, failed=False)
    tally(figures, counts_predictions, CANDIDATE, loaded, outputs, copy.answered)


def tally(
    figures: WindowFigures,
    counts_predictions: bool,
    variant: str,
    loaded: LoadedVersion,
    outputs: Outputs,
    answered: np.ndarray,
) -> None:
    """Count what ``variant`` answered for copies, and whether it agreed with ``answered``."""
    if counts_predictions:
        count_predictions(loaded.task, outputs.predictions, figures.variants[variant].predicted)
    figures.compared += len(answered)
    figures.disagreed += disagreements(answered, compared(outputs))


async def _run(loaded: LoadedVersion, rows: np.ndarray) -> Outputs:
    """Answer a copy where the batcher would run its rows (``runs_on_loop``): a compiled ONNX
    graph's small copy on the event loop (handing each to a thread woke it and traded the GIL
    with the loop for every copy), then let the requests waiting run; a large copy or a slow
    native model in a worker thread."""
    if not runs_on_loop(loaded.runner.backend, len(rows)):
        return await asyncio.to_thread(loaded.runner.run, rows)
    outputs = loaded.runner.run(rows)
    await asyncio.sleep(0)  # one copy at a time: a full queue never holds the loop
    return outputs


def compared(outputs: Outputs) -> np.ndarray | None:
    """What two variants are compared on: predictions, or a transformer's outputs."""
    return outputs.predictions if outputs.predictions is not None else outputs.outputs
