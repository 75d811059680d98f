"""Copies of answered requests, answered by the other variant and compared with the answer.

Shadow copies wait in the bounded queue (``shadow.py``) and the candidate answers those waiting
as one batch; a canary's copy rides in the primary's next micro-batch (``rollout.py``). Either
way, what the other variant answered is counted here into the window's figures: rows compared,
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
    figures: WindowFigures, counts_predictions: bool, loaded: LoadedVersion, copies: list[Copy]
) -> None:
    """Answer shadow copies with the candidate (``loaded``), as one batch: each copy is counted
    as a candidate request that took the batch's time (as a batched request does). When the
    batch fails, each copy runs alone, so only the rows that fail count as errors."""
    if len(copies) > 1:
        rows = stacked([copy.rows for copy in copies])
        if rows is not None and await _answer(figures, counts_predictions, loaded, rows, copies):
            return
    for copy in copies:
        await _answer(figures, counts_predictions, loaded, copy.rows, [copy])


async def _answer(
    figures: WindowFigures,
    counts_predictions: bool,
    loaded: LoadedVersion,
    rows: np.ndarray,
    copies: list[Copy],
) -> bool:
    """One candidate call for ``copies`` (their ``rows``); False when it failed."""
    started = time.perf_counter()
    candidate = figures.variants[CANDIDATE]
    try:
        outputs = await _run(loaded, rows)
        if outputs.rows != len(rows):
            raise RuntimeError(f"{loaded.reference} answered {outputs.rows} rows for {len(rows)}")
    except Exception:
        if len(copies) == 1:
            candidate.observe(time.perf_counter() - started, failed=True)
        return False
    took = time.perf_counter() - started
    for _ in copies:
        candidate.observe(took, failed=False)
    answered = (
        stacked([copy.answered for copy in copies]) if len(copies) > 1 else copies[0].answered
    )
    if answered is not None:
        tally(figures, counts_predictions, CANDIDATE, loaded, outputs, answered)
    return True


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
    """Answer copies where the batcher would run their rows (``runs_on_loop``): a compiled
    ONNX graph's small batch on the event loop (handing each to a thread woke it and traded the
    GIL with the loop for every copy), then let the requests waiting run; a large batch or a
    slow native model in a worker thread."""
    if not runs_on_loop(loaded.runner.backend, len(rows)):
        return await asyncio.to_thread(loaded.runner.run, rows)
    outputs = loaded.runner.run(rows)
    await asyncio.sleep(0)  # one batch at a time: a full queue never holds the loop
    return outputs


def stacked(parts: list[np.ndarray]) -> np.ndarray | None:
    """Parts of several copies as one array; None when their shapes do not stack."""
    try:
        return np.concatenate(parts)
    except ValueError:
        return None


def compared(outputs: Outputs) -> np.ndarray | None:
    """What two variants are compared on: predictions, or a transformer's outputs."""
    return outputs.predictions if outputs.predictions is not None else outputs.outputs
