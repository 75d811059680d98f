"""Whether a check had enough rows for its verdict to mean much.

The tests still run on a handful of rows (KS on one row has an exact p-value), and their
false-alarm rate holds; what they lack is power: a real shift in a batch of five rows usually
reads "no drift". The verdict is given anyway, with a warning that says so.
"""

from __future__ import annotations

MIN_ROWS = 30
"""Below this many rows on either side, the report warns that its verdict is weak."""


def sample_size_warnings(reference_rows: int, current_rows: int) -> tuple[str, ...]:
    """One warning per side with fewer than :data:`MIN_ROWS` rows."""
    warnings = []
    for role, rows in (("reference", reference_rows), ("current data", current_rows)):
        if rows < MIN_ROWS:
            noun = "row" if rows == 1 else "rows"
            warnings.append(
                f"the {role} has {rows} {noun} (fewer than {MIN_ROWS}): the tests can miss real "
                "drift at this size, so treat the verdict as provisional and check more rows"
            )
    return tuple(warnings)
