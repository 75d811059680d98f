"""Decisions made with fast KS p-values are the ones scipy's exact p-values give.

Every case is compared with the all-exact computation: scipy's ``ks_2samp`` p-value per column,
the same correction, ``p <= threshold``. Levels are also set so that a corrected threshold falls
within a millionth of an exact p-value, far inside the fast value's range: a decision taken from
the fast value alone would be wrong about half of the time there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from ferry.drift import DriftDetector
from ferry.drift.correction import corrected_thresholds
from ferry.drift.decision import decide
from ferry.drift.methods.ks_pvalue import ATOL, RTOL
from ferry.drift.methods.outcome import Outcome
from ferry.drift.settings import DriftSettings
from ferry.drift.suite import ColumnFindings

CORRECTIONS = st.sampled_from(["bonferroni", "fdr", "none"])


def _frames(
    seed: int, rows: tuple[int, int], shifts: list[float], decimals: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normal columns, the current one shifted by a fraction of a standard deviation."""
    rng = np.random.default_rng(seed)
    reference, current = {}, {}
    for index, shift in enumerate(shifts):
        reference[f"x{index}"] = rng.normal(0.0, 1.0, rows[0])
        current[f"x{index}"] = rng.normal(shift, 1.0, rows[1])
    frames = pd.DataFrame(reference), pd.DataFrame(current)
    if decimals is None:
        return frames
    return frames[0].round(decimals), frames[1].round(decimals)  # ties within and across sides


def _level_at(p_values: list[float], target: int, correction: str, nudge: float) -> float:
    """The level that puts the target column's corrected threshold at its p-value (nudged)."""
    count = len(p_values)
    rank = sorted(p_values).index(p_values[target]) + 1
    scale = {"bonferroni": count, "fdr": count / rank, "none": 1}[correction]
    return p_values[target] * scale * (1.0 + nudge)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.tuples(st.integers(20_000, 40_000), st.integers(20_000, 40_000)),
    shifts=st.lists(st.floats(0.0, 0.06), min_size=2, max_size=5),
    decimals=st.sampled_from([None, 1, 2, 3]),
    correction=CORRECTIONS,
    target=st.integers(0, 4),
    nudge=st.sampled_from([-1e-6, 1e-6, 0.0, None]),
)
def test_decisions_and_p_values_match_the_all_exact_computation(
    seed: int,
    rows: tuple[int, int],
    shifts: list[float],
    decimals: int | None,
    correction: str,
    target: int,
    nudge: float | None,
) -> None:
    reference, current = _frames(seed, rows, shifts, decimals)
    exact = [
        float(stats.ks_2samp(reference[name], current[name]).pvalue) for name in reference.columns
    ]
    level = 0.05 if nudge is None else _level_at(exact, target % len(exact), correction, nudge)
    assume(0.0 < level < 1.0)
    detector = DriftDetector(thresholds={"ks": level}, correction=correction, n_jobs=1)
    report = detector.fit(reference).check(current)

    thresholds = corrected_thresholds(exact, [level] * len(exact), correction)
    for feature, p_value, threshold in zip(report.features, exact, thresholds, strict=True):
        assert feature.p_value is not None
        assert abs(feature.p_value - p_value) <= max(RTOL * p_value, ATOL)
        assert feature.threshold == threshold
        assert feature.drifted == (p_value <= threshold), (feature.name, p_value, threshold)


def _finding(name: str, outcome: Outcome) -> ColumnFindings:
    nothing_missing = Outcome(0.0, 1.0, {"reference": 0.0, "current": 0.0})
    return ColumnFindings(name, "numeric", {"ks": outcome, "missing_rate": nothing_missing})


def _approximate(exact: float, width: float, calls: list[str], name: str) -> Outcome:
    """A fast value with a range holding ``exact``; computing the exact one is recorded."""

    def compute() -> Outcome:
        calls.append(name)
        return Outcome(1.0, exact)

    low, high = exact * (1.0 - width), min(1.0, exact * (1.0 + width))
    return Outcome(1.0, min(1.0, exact * (1.0 + width / 2)), p_range=(low, high), exact=compute)


@settings(max_examples=200, deadline=None)
@given(
    columns=st.lists(
        st.tuples(st.floats(1e-6, 1.0), st.floats(0.0, 0.5), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    correction=CORRECTIONS,
    level=st.floats(0.001, 0.5),
)
def test_decide_settles_every_call_as_the_exact_p_values_would(
    columns: list[tuple[float, float, bool]], correction: str, level: float
) -> None:
    """FDR included, where one column's range moves every other column's threshold."""
    calls: list[str] = []
    approximate, exact = [], []
    for index, (p_value, width, fast) in enumerate(columns):
        name = f"x{index}"
        outcome = _approximate(p_value, width, calls, name) if fast else Outcome(1.0, p_value)
        approximate.append(_finding(name, outcome))
        exact.append(_finding(name, Outcome(1.0, p_value)))
    options = DriftSettings.from_params(
        {**DriftDetector().get_params(), "thresholds": {"ks": level}, "correction": correction}
    )
    decided, expected = decide(approximate, options), decide(exact, options)
    assert [(f.drifted, f.threshold) for f in decided] == [
        (f.drifted, f.threshold) for f in expected
    ]
    if correction != "fdr":  # fixed thresholds: only a range around its own one needs scipy
        straddling = {
            f.name
            for f, outcome in zip(expected, approximate, strict=True)
            if _straddles(outcome.outcomes["ks"].p_range, f.threshold)
        }
        assert set(calls) == straddling


def _straddles(p_range: tuple[float, float] | None, threshold: float | None) -> bool:
    assert threshold is not None
    return p_range is not None and p_range[0] <= threshold < p_range[1]
