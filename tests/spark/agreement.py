"""Compare two drift reports: same decisions, every statistic and p-value within a tolerance."""

from __future__ import annotations

import math

from ferry.drift import DriftReport


def assert_reports_agree(got: DriftReport, expected: DriftReport, tolerance: float) -> None:
    assert got.current_rows == expected.current_rows
    assert got.reference_rows == expected.reference_rows
    assert [f.name for f in got.features] == [f.name for f in expected.features]
    assert [f.name for f in got.drifted_features] == [f.name for f in expected.drifted_features]
    assert got.drift == expected.drift
    for mine, theirs in zip(got.features, expected.features, strict=True):
        assert mine.type == theirs.type, mine.name
        assert mine.test == theirs.test, mine.name
        assert mine.stats.keys() == theirs.stats.keys(), mine.name
        for test, outcome in theirs.stats.items():
            for key in ("statistic", "p_value"):
                want, have = outcome.get(key), mine.stats[test].get(key)
                if want is None:
                    assert have is None, (mine.name, test, key)
                    continue
                assert math.isclose(have, want, abs_tol=tolerance), (
                    mine.name, test, key, have, want,
                )  # fmt: skip
