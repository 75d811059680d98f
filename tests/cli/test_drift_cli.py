"""``ferry drift``: CSV and Parquet in, exit codes 0 / 1 / 2 out, reports on request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from ferry import Registry
from ferry.cli.main import app
from ferry.drift import PROFILE_FILENAME, DriftDetector

Run = Callable[..., Result]


def _frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(shift, 1.0, rows),
            "visits": rng.poisson(3.0, rows),
            "city": rng.choice(["paris", "lyon", "nice"], rows),
            "user_id": [f"u{seed}-{index}" for index in range(rows)],
        }
    )


@pytest.fixture
def ferry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("FERRY_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, ["drift", *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """reference.csv, same.parquet (no drift) and moved.parquet / moved.csv (amount shifted)."""
    _frame(2000, 0).to_csv(tmp_path / "reference.csv", index=False)
    _frame(2000, 1).to_parquet(tmp_path / "same.parquet")
    moved = _frame(2000, 2, shift=1.0)
    moved.to_parquet(tmp_path / "moved.parquet")
    moved.to_csv(tmp_path / "moved.csv", index=False)
    return tmp_path


def test_no_drift_exits_0_even_with_fail_on_drift(ferry: Run, data: Path) -> None:
    result = ferry(
        "--reference",
        str(data / "reference.csv"),
        "--current",
        str(data / "same.parquet"),
        "--fail-on-drift",
    )
    assert result.stdout.startswith("no drift: 0 of 3 features drifted")


def test_drift_exits_1_only_with_fail_on_drift(ferry: Run, data: Path) -> None:
    args = ("--reference", str(data / "reference.csv"), "--current", str(data / "moved.csv"))
    shown = ferry(*args)
    assert shown.stdout.startswith("DRIFT: 1 of 3 features drifted")
    assert "amount" in shown.stdout
    ferry(*args, "--fail-on-drift", code=1)


def test_json_and_html_reports(ferry: Run, data: Path) -> None:
    ferry(
        "--reference",
        str(data / "reference.csv"),
        "--current",
        str(data / "moved.parquet"),
        "--json",
        str(data / "report.json"),
        "--html",
        str(data / "report.html"),
    )
    report = json.loads((data / "report.json").read_text())
    assert report["drift"] is True
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["amount"]
    user_id = next(f for f in report["features"] if f["name"] == "user_id")
    assert user_id["test"] is None and "identifier" in user_id["note"]
    page = (data / "report.html").read_text()
    assert "amount" in page and "://" not in page


def test_json_to_stdout_is_only_json(ferry: Run, data: Path) -> None:
    result = ferry(
        "--reference",
        str(data / "reference.csv"),
        "--current",
        str(data / "same.parquet"),
        "--json",
        "-",
    )
    assert json.loads(result.stdout)["drift"] is False


def test_column_options(ferry: Run, data: Path) -> None:
    result = ferry(
        "--reference",
        str(data / "reference.csv"),
        "--current",
        str(data / "same.parquet"),
        "--categorical",
        "visits",
        "--ignore",
        "user_id",
        "--json",
        "-",
    )
    features = {f["name"]: f for f in json.loads(result.stdout)["features"]}
    assert features["visits"]["type"] == "categorical"
    assert "user_id" not in features


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--current", "{d}/same.parquet"), "give exactly one reference"),
        (("--reference", "{d}/reference.csv"), "--current is required"),
        (("--reference", "{d}/nope.csv", "--current", "{d}/same.parquet"), "does not exist"),
        (("--reference", "{d}/reference.csv", "--current", "{d}/report.xlsx"), "use a .csv"),
        (("--reference", "{d}/broken.parquet", "--current", "{d}/same.parquet"), "cannot read"),
        (("--reference", "{d}/empty.csv", "--current", "{d}/same.parquet"), "error: "),
        (("--reference", "{d}/reference.csv", "--current", "{d}/other.csv"), "lacks columns"),
        (
            (
                "--reference",
                "{d}/reference.csv",
                "--model",
                "churn",
                "--current",
                "{d}/same.parquet",
            ),
            "give exactly one reference",
        ),
        (("--model", "churn", "--current", "{d}/same.parquet"), "error: "),
    ],
)
def test_errors_exit_2_with_one_line(
    ferry: Run, data: Path, args: tuple[str, ...], message: str
) -> None:
    (data / "report.xlsx").write_bytes(b"x")
    (data / "broken.parquet").write_bytes(b"not parquet")
    (data / "empty.csv").write_text("")
    pd.DataFrame({"other": [1, 2]}).to_csv(data / "other.csv", index=False)
    result = ferry(*(arg.format(d=data) for arg in args), code=2)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_model_reference_uses_the_registered_profile(ferry: Run, data: Path) -> None:
    reference = pd.read_csv(data / "reference.csv")
    features = reference[["amount", "visits"]]
    model = LogisticRegression().fit(features, reference["visits"] > 3)
    detector = DriftDetector(ignore=["user_id"]).fit(reference)
    profile = detector.save(data / PROFILE_FILENAME)
    with Registry(home=data / "home") as registry:
        registry.register(
            model, "churn", input_example=features.head(5), extras={PROFILE_FILENAME: profile}
        )
        registry.register(model, "plain", input_example=features.head(5))
    moved = ferry(
        "--model",
        "churn",
        "--current",
        str(data / "moved.parquet"),
        "--json",
        "-",
        "--fail-on-drift",
        code=1,
    )
    report = json.loads(moved.stdout)
    assert [f["name"] for f in report["features"] if f["drifted"]] == ["amount"]
    assert "user_id" not in [f["name"] for f in report["features"]]
    ferry("--model", "churn:1.0.0", "--current", str(data / "same.parquet"), "--fail-on-drift")
    missing = ferry("--model", "plain", "--current", str(data / "same.parquet"), code=2)
    assert PROFILE_FILENAME in missing.stderr and "extras" in missing.stderr


def test_a_column_of_1e308_is_reported_as_drift_not_a_crash(ferry: Run, data: Path) -> None:
    _frame(200, 3).assign(amount=1e308).to_csv(data / "huge.csv", index=False)
    result = ferry(
        "--reference", str(data / "reference.csv"), "--current", str(data / "huge.csv"),
        "--json", str(data / "huge.json"),
    )  # fmt: skip
    assert result.stdout.startswith("DRIFT:")
    report = json.loads((data / "huge.json").read_text())
    amount = next(entry for entry in report["features"] if entry["name"] == "amount")
    assert amount["drifted"]
    assert amount["stats"]["mean_shift"]["statistic"] > 1e300


def test_a_feature_that_arrives_empty_reads_as_drift(ferry: Run, data: Path) -> None:
    _frame(200, 3).assign(amount=np.inf).to_csv(data / "broken.csv", index=False)
    result = ferry(
        "--reference", str(data / "reference.csv"), "--current", str(data / "broken.csv"),
        "--fail-on-drift", code=1,
    )  # fmt: skip
    assert result.stdout.startswith("DRIFT:")
    assert "arrived with no values at all: amount" in result.stdout


def test_a_one_row_current_file_gets_a_verdict_with_a_warning(ferry: Run, data: Path) -> None:
    _frame(1, 3).to_csv(data / "one.csv", index=False)
    args = ("--reference", str(data / "reference.csv"), "--current", str(data / "one.csv"))
    text = ferry(*args).stdout
    assert text.startswith("no drift:")
    assert "warning: the current data has 1 row (fewer than 30)" in text
    report = json.loads(ferry(*args, "--json", "-").stdout)
    assert report["drift"] is False
    assert report["warnings"][0].startswith("the current data has 1 row (fewer than 30)")


def test_an_all_missing_reference_column_is_refused(ferry: Run, data: Path) -> None:
    _frame(200, 4).assign(amount=np.nan).to_csv(data / "blank.csv", index=False)
    result = ferry(
        "--reference", str(data / "blank.csv"), "--current", str(data / "reference.csv"), code=2
    )
    assert "the reference has no values in columns ['amount']" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_repeated_header_is_refused_naming_the_column(ferry: Run, data: Path) -> None:
    text = (data / "reference.csv").read_text()
    (data / "twice.csv").write_text(text.replace("visits", "amount", 1))
    result = ferry(
        "--reference", str(data / "twice.csv"), "--current", str(data / "same.parquet"), code=2
    )
    assert "twice.csv has repeated column names ['amount']" in result.stderr


def test_a_one_shot_check_never_imports_scipy_stats(tmp_path: Path) -> None:
    """Its import alone costs 0.7-1.2 s: every p-value of this check comes without it.

    KS is asymptotic (25,000 rows a side) with a shift in scipy's slow band, categories are
    tested by chi-square, a column loses values (missing-rate test); JSON out, exit 1 on drift.
    """
    reference, current = _frame(25_000, 1), _frame(25_000, 2, shift=0.04)
    current.loc[current.index[:3_000], "visits"] = np.nan
    reference.to_parquet(tmp_path / "reference.parquet")
    current.to_parquet(tmp_path / "current.parquet")
    process = subprocess.run(
        [sys.executable, "-X", "importtime", str(Path(sys.executable).parent / "ferry"), "drift",
         "--reference", str(tmp_path / "reference.parquet"),
         "--current", str(tmp_path / "current.parquet"),
         "--ignore", "user_id", "--json", "-", "--fail-on-drift"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert process.returncode == 1, process.stderr[-2000:]
    report = json.loads(process.stdout)
    drifted = {f["name"] for f in report["features"] if f["drifted"]}
    assert drifted == {"amount", "visits"}
    imported = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", process.stderr, re.M))
    assert {"scipy.special", "ferry.drift.methods.ks_pvalue"} <= imported  # the parse sees them
    assert sorted(name for name in imported if name.startswith("scipy.stats")) == []
