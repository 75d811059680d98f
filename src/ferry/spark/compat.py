"""PySpark 4.3 with pandas 3: known warnings, silenced where ferry converts, nowhere else.

PySpark 4.3 warns that it "does not yet fully support pandas >= 3.0.0" on every pandas
conversion, and its Arrow code still passes ``copy=`` to ``astype`` (a pandas 4 deprecation).
ferry's Spark code is tested on pyspark 4.3 with pandas 3.1 (see docs/spark.md); these two
warnings say nothing about ferry's results, so they are ignored inside ferry's own calls only.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

KNOWN_WARNINGS = (
    ("PySpark does not yet fully support pandas", FutureWarning),
    ("The copy keyword is deprecated", Warning),
)


@contextmanager
def quiet_pandas_warnings() -> Iterator[None]:
    """Ignore PySpark's known pandas-3 warnings (and nothing else) inside the block."""
    with warnings.catch_warnings():
        for message, category in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
