"""Tables as users hold them (pandas, polars, pyarrow, numpy) turned into pandas, names kept.

ferry computes on pandas and numpy. Everything that takes a user's table (``register``,
``LoadedModel.predict``, ``training_data=``, ``DriftDetector``) passes it through here first,
so a polars frame keeps its column names and order and a numpy array gets stable names.
polars and pyarrow are recognised by their type's module and never imported here.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput

_ARROW_LIKE = ("polars", "pyarrow")


class ArrowLike(Protocol):
    """A polars or pyarrow table: anything that turns itself into pandas."""

    def to_pandas(self) -> Any:
        """The same rows as a pandas DataFrame."""
        ...


Table: TypeAlias = pd.DataFrame | np.ndarray | ArrowLike
"""What ferry takes as a table: pandas, numpy, polars or pyarrow."""


def to_pandas(data: Any) -> Any:
    """A polars DataFrame/Series/LazyFrame or a pyarrow Table/RecordBatch as pandas; anything
    else unchanged."""
    module = type(data).__module__.split(".")[0]
    if module not in _ARROW_LIKE:
        return data
    if module == "polars" and not callable(getattr(data, "to_pandas", None)):
        data = data.collect()  # a LazyFrame: its rows are asked for, so compute them
    return data.to_pandas()


def as_frame(data: Any, role: str) -> pd.DataFrame:
    """A DataFrame from any table; a 2-D array's columns are named ``"0"``, ``"1"``, ...

    Used where columns are compared by name (drift, fingerprints): the same array shape
    always gets the same names.
    """
    data = to_pandas(data)
    if isinstance(data, pd.Series):
        return data.to_frame(name=str(data.name) if data.name not in (None, "") else "0")
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2:
            raise InvalidInput(
                f"the {role} data must be a table: a 2-D array, got {data.ndim} dimensions"
            )
        return pd.DataFrame(data, columns=[str(index) for index in range(data.shape[1])])
    if type(data).__module__.startswith("pyspark."):
        raise InvalidInput(
            f"the {role} data is a Spark DataFrame: use ferry.spark (fit_spark, check_spark, "
            "predict; docs/spark.md), or call .toPandas() first if it fits in memory"
        )
    raise InvalidInput(
        f"the {role} data must be a pandas or polars DataFrame or a numpy array, "
        f"got {type(data).__name__}"
    )
