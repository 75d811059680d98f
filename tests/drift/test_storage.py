"""Save and load: one .npz without pickle; a loaded detector reports bit for bit the same."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferry.drift import PROFILE_FILENAME, DriftDetector
from ferry.errors import InvalidInput

Frames = tuple[pd.DataFrame, pd.DataFrame]


def test_round_trip_gives_the_same_report(frames_10k: Frames, tmp_path: Path) -> None:
    reference, current = frames_10k
    reference = reference.assign(when=pd.Timestamp("2024-01-01"))
    detector = DriftDetector(correction="fdr", thresholds={"psi": 0.3}, ignore=["x15"])
    detector.fit(reference, predictions=reference["x0"])
    path = detector.save(tmp_path / PROFILE_FILENAME)
    loaded = DriftDetector.load(path)
    assert loaded.get_params()["correction"] == "fdr"
    assert loaded.feature_names_in_ == detector.feature_names_in_
    expected = detector.check(current, predictions=current["x0"]).to_dict()
    assert loaded.check(current, predictions=current["x0"]).to_dict() == expected


def test_loads_from_bytes_and_streams(frames_10k: Frames, tmp_path: Path) -> None:
    reference, current = frames_10k
    path = DriftDetector().fit(reference).save(tmp_path / "profile.npz")
    data = path.read_bytes()
    for source in (data, io.BytesIO(data), str(path)):
        assert DriftDetector.load(source).check(current).drift_share == pytest.approx(0.24)


def test_load_applies_todays_deciding_settings(frames_10k: Frames, tmp_path: Path) -> None:
    """A saved profile checked with other tests, thresholds and an ignore list gives the report a
    detector fitted with those settings gives; what fit learned cannot be overridden."""
    reference, current = frames_10k
    path = DriftDetector().fit(reference).save(tmp_path / "profile.npz")
    settings = {"numeric_test": "mean_shift", "thresholds": {"mean_shift": 0.5},
                "correction": "none", "drift_share": 0.5, "ignore": ["x0", "x1"]}  # fmt: skip
    loaded = DriftDetector.load(path, **settings)
    fitted = DriftDetector(**settings).fit(reference)
    assert loaded.check(current).to_dict() == fitted.check(current).to_dict()
    assert "x0" not in loaded.feature_names_in_
    with pytest.raises(InvalidInput, match=r"\['categorical'\] were learned"):
        DriftDetector.load(path, categorical=["x3"])
    with pytest.raises(InvalidInput, match="no parameters"):
        DriftDetector.load(path, numeric_tests="ks")


def test_the_file_holds_no_pickle(frames_10k: Frames, tmp_path: Path) -> None:
    path = DriftDetector().fit(frames_10k[0]).save(tmp_path / "profile.npz")
    with np.load(path, allow_pickle=False) as archive:  # would raise on an object array
        assert all(archive[name].dtype != object for name in archive.files)


def test_discrete_columns_are_stored_compactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = 200_000
    continuous = pd.DataFrame({"x": rng.normal(size=rows)})
    discrete = pd.DataFrame({"x": rng.poisson(5.0, rows).astype(float)})
    big = DriftDetector().fit(continuous).save(tmp_path / "continuous.npz").stat().st_size
    small = DriftDetector().fit(discrete).save(tmp_path / "discrete.npz").stat().st_size
    assert big > 8 * rows
    assert small < 10_000


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidInput, match="cannot read a drift profile from"):
        DriftDetector.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, header=np.array('{"format": "something/9"}'))
    with pytest.raises(InvalidInput, match="not a ferry drift profile"):
        DriftDetector.load(other)
    plain = tmp_path / "plain.npz"
    np.savez(plain, values=np.arange(3))
    with pytest.raises(InvalidInput, match="not a ferry drift profile"):
        DriftDetector.load(plain)


def test_save_is_atomic_and_leaves_no_temporary_file(frames_10k: Frames, tmp_path: Path) -> None:
    DriftDetector().fit(frames_10k[0]).save(tmp_path / "profile.npz")
    assert [item.name for item in tmp_path.iterdir()] == ["profile.npz"]
    assert zipfile.is_zipfile(tmp_path / "profile.npz")
