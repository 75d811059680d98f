"""How far the candidate's predictions are from the primary's: PSI or Jensen-Shannon distance.

Each variant counts what it predicted in the window: class labels (classifiers, clusterers) as
text, regression values rounded to three significant digits. Counts add up across replicas like
the other figures. The judgement lines the two up and hands them to ``ferry.drift``'s PSI and
Jensen-Shannon: classes as categories; values over ten equal-frequency bins of the primary's
values (``drift.bins``), the primary being the reference as training data is for drift.

``ferry.drift`` (and with it pandas and scipy) is imported only when a window is judged, on the
analysis leader, never on the request path.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

VALUE_BINS = 10
"""Equal-frequency bins of the primary's regression values."""


def count_predictions(
    task: str, predictions: np.ndarray | None, into: dict[str, Counter[str]]
) -> None:
    """Add one answer's predictions to ``into["classes"]`` or (regressors) ``into["values"]``."""
    if predictions is None or task in ("transformer", "embedding"):
        return
    flat = np.asarray(predictions).reshape(len(predictions), -1)[:, 0]
    if task == "regressor":
        into["values"].update(f"{float(value):.3g}" for value in flat)
    else:
        into["classes"].update(_label(value) for value in flat)


def _label(value: Any) -> str:
    """A label's text, numbers without a spurious ``.0`` (``1.0`` and ``1`` are one class)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def distance(
    method: str, primary: dict[str, Counter[str]], candidate: dict[str, Counter[str]]
) -> float | None:
    """``method`` (psi or js) from the primary's predictions to the candidate's; None while
    either side predicted nothing."""
    kind = "values" if primary["values"] or candidate["values"] else "classes"
    if not sum(primary[kind].values()) or not sum(candidate[kind].values()):
        return None
    if kind == "values":
        reference, current = _binned(primary["values"], candidate["values"])
    else:
        names = tuple(sorted(set(primary["classes"]) | set(candidate["classes"])))
        reference = np.array([primary["classes"][name] for name in names], dtype=np.int64)
        current = np.array([candidate["classes"][name] for name in names], dtype=np.int64)
    return _measure(method, reference, current)


def _binned(primary: Counter[str], candidate: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both sides over equal-frequency bins of the primary's values."""
    from ferry.drift.bins import bin_counts, quantile_edges

    reference, current = _sorted(primary), _sorted(candidate)
    edges = quantile_edges(reference, VALUE_BINS)
    return bin_counts(reference, edges), bin_counts(current, edges)


def _sorted(counts: Counter[str]) -> np.ndarray:
    values = np.array([float(key) for key in counts], dtype=np.float64)
    repeats = np.array(list(counts.values()), dtype=np.int64)
    order = np.argsort(values)
    return np.repeat(values[order], repeats[order])


def _measure(method: str, reference: np.ndarray, current: np.ndarray) -> float:
    """drift's PSI, or its Jensen-Shannon distance (base 2, in [0, 1])."""
    if method == "psi":
        from ferry.drift.methods.psi import psi

        return psi(reference, current)
    from ferry.drift.categories import AlignedCounts
    from ferry.drift.methods.jensen_shannon import jensen_shannon

    names = tuple(str(index) for index in range(reference.size))
    aligned = AlignedCounts.align(names, reference, dict(zip(names, current.tolist(), strict=True)))
    found = jensen_shannon(aligned).statistic
    return 0.0 if found is None else found
