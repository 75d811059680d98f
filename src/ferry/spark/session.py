"""The SparkSession the CLI uses: local by default, Arrow on, workers on this Python.

Library users bring their own session; the CLI (``--engine spark --master ...``) and the tests
build one here so that executors run the same interpreter (and so the same ferry) as the driver.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SETTINGS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
}
"""Arrow for pandas conversions; few shuffle partitions (ferry merges on the driver anyway)."""


def spark_session(
    master: str = "local[2]", app_name: str = "ferry", config: Mapping[str, str] | None = None
) -> SparkSession:
    """A session on ``master`` (``local[2]``, ``spark://host:7077``, ``yarn`` ...).

    ``config`` adds or overrides Spark settings (the tests use two shuffle partitions).
    """
    import os

    from pyspark.sql import SparkSession

    # Workers start from the environment, not from the session's settings, in local mode.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**SETTINGS, **(config or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
