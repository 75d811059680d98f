"""Sketch a Spark DataFrame: one sketch per column, built on executors, merged on executors.

Each partition streams its Arrow batches through :mod:`ferry.spark.sketches` (``mapInPandas``),
the partial sketches of each column meet in one group (``applyInPandas``) and are merged there,
and the driver collects one row per column, whatever the number of rows or partitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ferry.spark.compat import quiet_pandas_warnings
from ferry.spark.sketches import Sketch, categorical_sketch, merge, numeric_sketch

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SKETCH_SCHEMA = (
    "column string, kind string, rows long, missing long, count long, mean double, m2 double, "
    "minimum double, maximum double, values array<double>, weights array<double>, "
    "exact boolean, keys array<string>, counts array<long>"
)
"""One sketch as one row (``keys`` and ``counts`` are a categorical column's categories)."""


def sketch_frame(
    df: DataFrame, plan: Sequence[tuple[str, str]], max_categories: int | None = None
) -> dict[str, Sketch]:
    """``{column: sketch}`` for the ``(column, "numeric" | "categorical")`` pairs of ``plan``.

    ``max_categories`` caps a categorical sketch: past it the column is marked (``exact``
    false, no counts), since it will not be tested anyway (an identifier, free text).
    """
    plan = list(plan)
    cap = max_categories

    def per_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        partial: dict[str, Sketch] = {}
        for batch in batches:
            for name, kind in plan:
                series = batch[name]
                built = numeric_sketch(name, series) if kind == "numeric" else (
                    categorical_sketch(name, series)
                )  # fmt: skip
                earlier = partial.get(name)
                partial[name] = _capped(built if earlier is None else merge([earlier, built]), cap)
        if partial:
            yield to_rows(list(partial.values()))

    def per_column(group: pd.DataFrame) -> pd.DataFrame:
        return to_rows([_capped(merge(from_rows(group)), cap)])

    names = [name for name, _ in plan]
    with quiet_pandas_warnings():
        partials = df.select(*names).mapInPandas(per_partition, SKETCH_SCHEMA)
        merged = partials.groupBy("column").applyInPandas(per_column, SKETCH_SCHEMA)
        collected = merged.toPandas()
    return {sketch.column: sketch for sketch in from_rows(collected)}


def _capped(sketch: Sketch, cap: int | None) -> Sketch:
    if cap is None or sketch.kind != "categorical" or not sketch.exact:
        return sketch
    if sketch.categories is not None and len(sketch.categories) <= cap:
        return sketch
    return Sketch(sketch.column, "categorical", sketch.rows, sketch.missing, exact=False)


def to_rows(sketches: Sequence[Sketch]) -> pd.DataFrame:
    """Sketches as rows of :data:`SKETCH_SCHEMA` (object columns: Arrow lists, plain strings)."""
    records = []
    for s in sketches:
        keys = list(s.categories) if s.categories is not None else None
        records.append(
            {
                "column": s.column, "kind": s.kind, "rows": s.rows, "missing": s.missing,
                "count": s.count, "mean": s.mean, "m2": s.m2, "minimum": s.minimum,
                "maximum": s.maximum, "values": s.values, "weights": s.weights,
                "exact": s.exact, "keys": keys,
                "counts": None if keys is None or s.categories is None
                else np.array([s.categories[key] for key in keys], dtype=np.int64),
            }
        )  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=SKETCH_COLUMNS)
    for name in ("column", "kind", "values", "weights", "keys", "counts"):
        frame[name] = frame[name].astype(object)
    return frame


SKETCH_COLUMNS = [part.strip().split(" ")[0] for part in SKETCH_SCHEMA.split(",")]


def from_rows(frame: pd.DataFrame) -> list[Sketch]:
    """The sketches :func:`to_rows` wrote (after a trip through Arrow)."""
    sketches = []
    for row in frame.to_dict("records"):
        categories = None
        if row["keys"] is not None and row["counts"] is not None:
            categories = {
                str(key): int(count) for key, count in zip(row["keys"], row["counts"], strict=True)
            }
        sketches.append(
            Sketch(
                str(row["column"]),
                str(row["kind"]),
                int(row["rows"]),
                int(row["missing"]),
                count=int(row["count"]),
                mean=float(row["mean"]),
                m2=float(row["m2"]),
                minimum=float(row["minimum"]),
                maximum=float(row["maximum"]),
                values=_floats(row["values"]),
                weights=_floats(row["weights"]),
                exact=bool(row["exact"]),
                categories=categories,
            )
        )
    return sketches


def _floats(values: object) -> np.ndarray | None:
    if values is None:
        return None
    return np.asarray(values, dtype=np.float64)
