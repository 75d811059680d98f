"""One SparkSession for every Spark test: pyspark on local[2], started once per run.

Starting a JVM costs seconds, so the session is shared; every test makes its own small
DataFrames. The tests skip, loudly, only when no Java runtime is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from ferry.spark.compat import quiet_pandas_warnings


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("SPARK TESTS SKIPPED: no Java runtime on PATH (pyspark needs Java 17+)")
    from ferry.spark.session import spark_session

    with quiet_pandas_warnings():
        session = spark_session("local[2]")
    yield session
    session.stop()
