"""Score a Spark DataFrame with a registered version: one verified model, many executors.

``predict(df, "churn@production")`` returns ``df`` with the task's output columns and
``ferry_version`` added; every input column passes through untouched. ``predict_udf(ref)`` is
the same scorer as a pandas UDF returning one struct column, for ``select``/``withColumn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ferry.errors import InvalidInput
from ferry.spark.compat import quiet_pandas_warnings
from ferry.spark.shipped import ShippedModel, answer, prepare

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructField

    from ferry.registry.registry import Registry

VERSION_COLUMN = "ferry_version"
"""The column naming the version that answered each row (``1.4.0``)."""

OUTPUT_COLUMNS = {
    "classifier": ("prediction", "probabilities"),
    "regressor": ("prediction",),
    "clusterer": ("cluster", "confidence"),
    "transformer": ("outputs",),
    "embedding": ("outputs",),
}
"""The columns scoring adds per task, before ``ferry_version``."""


def predict(
    df: DataFrame,
    ref: str,
    columns: list[str] | None = None,
    *,
    registry: Registry | None = None,
    onnx: bool = True,
) -> DataFrame:
    """``df`` with the predictions of ``ref`` added, computed by ``mapInPandas`` on executors.

    ``columns`` names the DataFrame columns holding the model's inputs, in the model's order
    (default: the names in its input schema). ``onnx=False`` ships the native model instead of
    the compiled graph (then the model's framework must be installed on the executors).
    """
    from pyspark.sql.types import StructType

    model = _ship(df.sparkSession, ref, columns, registry, onnx)
    _check_columns(model, df.columns)
    schema = StructType([*df.schema.fields, *output_fields(model)])

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            outputs = outputs_frame(model, answer(model, batch), len(batch))
            yield pd.concat([batch.reset_index(drop=True), outputs], axis=1)

    with quiet_pandas_warnings():
        return df.mapInPandas(score, schema)


def predict_udf(
    ref: str,
    columns: list[str] | None = None,
    *,
    spark: SparkSession | None = None,
    registry: Registry | None = None,
    onnx: bool = True,
) -> Callable[..., Column]:
    """A pandas UDF answering ``ref``: call it on the input columns, get one struct column.

    ``df.withColumn("scores", predict_udf("churn@production")(*features))``; the struct holds
    the same fields :func:`predict` adds. Arguments are taken in the model's input order.
    """
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.functions import pandas_udf
    from pyspark.sql.types import StructType

    session = spark or SparkSession.builder.getOrCreate()
    model = _ship(session, ref, columns, registry, onnx)
    names = list(model.features)

    def score(*inputs: pd.Series) -> pd.DataFrame:
        if len(inputs) != len(names):
            raise InvalidInput(
                f"{model.reference} takes {len(names)} input columns ({names}), "
                f"the UDF was called on {len(inputs)}"
            )
        batch = pd.concat([series.reset_index(drop=True) for series in inputs], axis=1)
        batch.columns = pd.Index(names)
        return outputs_frame(model, answer(model, batch), len(batch))

    with quiet_pandas_warnings():
        udf: Callable[..., Column] = pandas_udf(score, StructType(output_fields(model)))  # type: ignore[call-overload]
    return udf


def _ship(
    session: SparkSession,
    ref: str,
    columns: list[str] | None,
    registry: Registry | None,
    onnx: bool,
) -> ShippedModel:
    """Resolve, verify and compile on the driver; broadcast the bytes to executors once."""
    from dataclasses import replace

    with _registry(registry) as opened:
        model, data = prepare(opened, ref, columns, onnx=onnx)
    return replace(model, payload=session.sparkContext.broadcast(data))


@contextmanager
def _registry(given: Registry | None) -> Iterator[Registry]:
    if given is not None:
        yield given
        return
    from ferry.registry.registry import Registry

    opened = Registry()
    try:
        yield opened
    finally:
        opened.close()


def _check_columns(model: ShippedModel, present: list[str]) -> None:
    missing = [name for name in model.features if name not in present]
    if missing:
        raise InvalidInput(
            f"the DataFrame has no column {missing[0]!r}, which {model.reference} needs; "
            f"it has {present}"
        )
    clashes = [name for name in output_names(model) if name in present]
    if clashes:
        raise InvalidInput(
            f"the DataFrame already has a column {clashes[0]!r}, which scoring adds: "
            "rename or drop it first"
        )


def output_names(model: ShippedModel) -> tuple[str, ...]:
    """The columns scoring adds for this model's task."""
    return (*OUTPUT_COLUMNS[model.task], VERSION_COLUMN)


def output_fields(model: ShippedModel) -> list[StructField]:
    """Spark fields for the task's outputs, then ``ferry_version``."""
    from pyspark.sql.types import (
        ArrayType,
        DoubleType,
        LongType,
        StringType,
        StructField,
    )

    vector = ArrayType(DoubleType())
    types: dict[str, DataType] = {
        "prediction": _label_type(model) if model.task == "classifier" else DoubleType(),
        "probabilities": vector,
        "cluster": LongType(),
        "confidence": DoubleType(),
        "outputs": vector,
    }
    fields = [StructField(name, types[name]) for name in OUTPUT_COLUMNS[model.task]]
    return [*fields, StructField(VERSION_COLUMN, StringType())]


def _label_type(model: ShippedModel) -> DataType:
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType

    classes = model.classes or ()
    if classes and all(isinstance(c, bool) for c in classes):
        return BooleanType()
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return LongType()
    if classes and all(isinstance(c, int | float) for c in classes):
        return DoubleType()
    return StringType()


def outputs_frame(model: ShippedModel, named: dict[str, np.ndarray], rows: int) -> pd.DataFrame:
    """One batch's outputs as the columns :func:`output_fields` declares."""
    columns: dict[str, Any] = {}
    predictions = named.get("predictions")
    if model.task == "classifier":
        columns["prediction"] = _labels(model, np.asarray(predictions).ravel())
        columns["probabilities"] = _vectors(named.get("probabilities"), rows)
    elif model.task == "regressor":
        columns["prediction"] = np.asarray(predictions, dtype=np.float64).ravel()
    elif model.task == "clusterer":
        columns["cluster"] = np.asarray(predictions).ravel().astype(np.int64)
        confidence = named.get("confidence")
        columns["confidence"] = (
            np.full(rows, np.nan) if confidence is None else np.asarray(confidence, np.float64)
        )
    else:
        columns["outputs"] = _vectors(named.get("outputs", predictions), rows)
    # Object dtype: pandas 3 would infer its string dtype, which Arrow sends as large_string,
    # and Spark refuses a large_string inside a UDF's struct.
    columns[VERSION_COLUMN] = pd.Series([model.version] * rows, dtype=object)
    with quiet_pandas_warnings():
        return pd.DataFrame(columns)


def _labels(model: ShippedModel, labels: np.ndarray) -> Any:
    """Labels in the classes' own type (an ONNX graph may answer int64 for any integer)."""
    classes = model.classes or ()
    if classes and all(isinstance(c, bool) for c in classes):
        return labels.astype(bool)
    if classes and all(isinstance(c, int) for c in classes):
        return labels.astype(np.int64)
    if classes and all(isinstance(c, int | float) for c in classes):
        return labels.astype(np.float64)
    return pd.Series([str(label) for label in labels], dtype=object)


def _vectors(values: np.ndarray | None, rows: int) -> list[Any]:
    """A 2-D array as one float vector per row (None when the model gave none)."""
    if values is None:
        return [None] * rows
    return list(np.asarray(values, dtype=np.float64).reshape(rows, -1))
