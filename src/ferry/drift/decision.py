"""From test outcomes to a drifted / not drifted call per column, and the share that drifted.

Each column type has one deciding test (KS for numeric, chi-square for categorical, by default).
P-value tests are held to thresholds corrected for the number of columns tested together; effect
sizes to their fixed levels. Independently, a column drifts when its missing rate moved by more
than the ``missing_rate`` threshold and that move is significant at the Bonferroni level, because
a feed that starts arriving empty is broken even if the values that do arrive look right. A
column with no values left at all (all missing, or all infinite) drifts whatever the batch size.

A p-value may arrive as a fast approximation with a range that holds the exact value (KS at large
sizes). The call is then made at both ends of every range; wherever the two disagree (on the
column or, through the FDR ranks, on its threshold), the exact value is computed and the call
made again, so every decision is the one the exact p-values give.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ferry.drift.correction import corrected_thresholds
from ferry.drift.methods import P_VALUE_TESTS
from ferry.drift.methods.outcome import Outcome
from ferry.drift.report import FeatureDrift
from ferry.drift.settings import DriftSettings
from ferry.drift.suite import ColumnFindings

EMPTY_REASON = "no values in the current data: the column arrives empty"
"""Whatever the sample size: a feed that stopped sending a column is broken."""


def decide(findings: Sequence[ColumnFindings], settings: DriftSettings) -> list[FeatureDrift]:
    """One :class:`FeatureDrift` per column, in the order of ``findings``.

    Approximate p-values are replaced by exact ones until the call no longer depends on where
    in its range the exact value lies; every pass makes at least one more p-value exact.
    """
    current = list(findings)
    while True:
        low = _decide(_at_bound(current, settings, 0), settings)
        high = _decide(_at_bound(current, settings, 1), settings)
        unsettled = [
            index
            for index, (a, b) in enumerate(zip(low, high, strict=True))
            if (a.drifted, a.threshold) != (b.drifted, b.threshold)
        ]
        if not unsettled:
            return _decide(current, settings)
        current = _make_exact(current, settings, unsettled)


def _at_bound(
    findings: Sequence[ColumnFindings], settings: DriftSettings, end: int
) -> list[ColumnFindings]:
    """The findings with each approximate deciding p-value moved to one end of its range."""
    moved = []
    for finding in findings:
        test, outcome = _deciding(finding, settings) or ("", Outcome(None))
        if outcome.p_range is None:
            moved.append(finding)
        else:
            bound = dataclasses.replace(outcome, p_value=outcome.p_range[end])
            moved.append(_replaced(finding, test, bound))
    return moved


def _make_exact(
    findings: Sequence[ColumnFindings], settings: DriftSettings, unsettled: Sequence[int]
) -> list[ColumnFindings]:
    """Exact deciding p-values for the unsettled columns; for every column when those are
    exact already (other columns' ranges then move the FDR rank)."""
    approximate = {
        index for index, finding in enumerate(findings) if _approximate(finding, settings)
    }
    chosen = approximate.intersection(unsettled) or approximate
    refined = list(findings)
    for index in chosen:
        test, outcome = _deciding(findings[index], settings) or ("", Outcome(None))
        if outcome.exact is not None:
            refined[index] = _replaced(findings[index], test, outcome.exact())
    return refined


def _deciding(finding: ColumnFindings, settings: DriftSettings) -> tuple[str, Outcome] | None:
    """The deciding test's name and outcome, when the column has one."""
    test = _deciding_test(finding, settings)
    if test is None or test not in finding.outcomes:
        return None
    return test, finding.outcomes[test]


def _approximate(finding: ColumnFindings, settings: DriftSettings) -> bool:
    deciding = _deciding(finding, settings)
    return deciding is not None and deciding[1].exact is not None


def _replaced(finding: ColumnFindings, test: str, outcome: Outcome) -> ColumnFindings:
    return dataclasses.replace(finding, outcomes={**finding.outcomes, test: outcome})


def _decide(findings: Sequence[ColumnFindings], settings: DriftSettings) -> list[FeatureDrift]:
    tests = [_deciding_test(finding, settings) for finding in findings]
    family = [
        (index, test)
        for index, (finding, test) in enumerate(zip(findings, tests, strict=True))
        if test in P_VALUE_TESTS and test is not None and finding.outcomes[test].testable
    ]
    levels = corrected_thresholds(
        [_p(findings[index].outcomes[test]) for index, test in family],
        [settings.threshold(test) for _, test in family],
        settings.correction,
    )
    thresholds = {index: level for (index, _), level in zip(family, levels, strict=True)}
    tested = sum(1 for finding in findings if finding.skipped is None)
    return [
        _feature(finding, test, thresholds.get(index), tested, settings)
        for index, (finding, test) in enumerate(zip(findings, tests, strict=True))
    ]


def drift_share(features: Sequence[FeatureDrift]) -> float:
    """Drifted features over tested features (0.0 when nothing could be tested)."""
    tested = [feature for feature in features if feature.tested]
    if not tested:
        return 0.0
    return sum(feature.drifted for feature in tested) / len(tested)


def _deciding_test(finding: ColumnFindings, settings: DriftSettings) -> str | None:
    if finding.skipped is not None:
        return None
    return settings.numeric_test if finding.kind == "numeric" else settings.categorical_test


def _feature(
    finding: ColumnFindings,
    test: str | None,
    corrected: float | None,
    tested: int,
    settings: DriftSettings,
) -> FeatureDrift:
    if test is None:
        return FeatureDrift(
            finding.name, finding.kind, None, None, None, None, False, note=finding.skipped
        )
    outcome = finding.outcomes[test]
    threshold = corrected if corrected is not None else settings.threshold(test)
    reasons = []
    if finding.empty:
        reasons.append(EMPTY_REASON)
    if outcome.testable and _fires(test, outcome, threshold):
        reasons.append(_explain(test, outcome, threshold))
    missing = _missing_reason(finding, tested, settings)
    if missing is not None:
        reasons.append(missing)
    return FeatureDrift(
        name=finding.name,
        type=finding.kind,
        test=test,
        statistic=outcome.statistic,
        p_value=outcome.p_value,
        threshold=threshold,
        drifted=bool(reasons),
        stats={name: result.to_dict() for name, result in finding.outcomes.items()},
        reasons=tuple(reasons),
        note=outcome.note,
        histogram=finding.histogram,
        empty=finding.empty,
    )


def _fires(test: str, outcome: Outcome, threshold: float) -> bool:
    if test in P_VALUE_TESTS:
        return _p(outcome) <= threshold
    return float(outcome.statistic or 0.0) > threshold


def _explain(test: str, outcome: Outcome, threshold: float) -> str:
    if test in P_VALUE_TESTS:
        return f"{test} p={_p(outcome):.3g} <= {threshold:.3g}"
    return f"{test} {outcome.statistic:.3g} > {threshold:.3g}"


def _missing_reason(finding: ColumnFindings, tested: int, settings: DriftSettings) -> str | None:
    """Why the missing rate makes the column drift, or None."""
    outcome = finding.outcomes["missing_rate"]
    change = float(outcome.statistic or 0.0)
    level = settings.threshold("ks" if finding.kind == "numeric" else "chi2") / max(tested, 1)
    if abs(change) <= settings.threshold("missing_rate") or _p(outcome) > level:
        return None
    before, after = outcome.details["reference"], outcome.details["current"]
    return f"missing rate {before:.1%} -> {after:.1%}"


def _p(outcome: Outcome) -> float:
    """The p-value of an outcome that has one (1.0, i.e. no evidence, if it has none)."""
    return 1.0 if outcome.p_value is None else outcome.p_value
