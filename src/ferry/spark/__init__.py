"""The same scoring and drift on Spark DataFrames: map per partition, merge on the driver.

``predict(df, "churn@production")`` scores a DataFrame on the executors with the version's
verified, compiled ONNX graph; ``predict_udf(ref)`` is the same as a pandas UDF. Importing this
package imports pyspark (nothing else in ferry does). Guide: ``docs/spark.md``.
"""

from __future__ import annotations

from ferry.spark.scoring import predict, predict_udf

__all__ = ["predict", "predict_udf"]
