"""What executors import to score with ONNX: no scikit-learn, no converter, no pyspark at import."""

from __future__ import annotations

import subprocess
import sys


def test_the_executor_side_of_onnx_scoring_imports_no_scikit_learn() -> None:
    code = (
        "import sys\n"
        "import ferry.spark, ferry.spark.shipped, ferry.serving.runners\n"
        "print(sorted(m for m in ('sklearn', 'skl2onnx', 'pyspark') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"
