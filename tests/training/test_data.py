"""Training data sources and the checks run before anything is fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine

from ferry.errors import InvalidInput
from ferry.registry.dataset import frame_sha256
from ferry.registry.schema import schema_of
from ferry.training.data import compare_schema, prepare, read_source
from ferry.training.spec import load_spec


def _spec(write_pipeline, **kwargs):
    return load_spec(write_pipeline(**kwargs))


def test_csv_parquet_and_sql_read_the_same_data(write_pipeline, workdir, cancer_frame):
    cancer_frame.to_parquet(workdir / "train.parquet")
    engine = create_engine(f"sqlite:///{workdir / 'cancer.db'}")
    cancer_frame.to_sql("cancer", engine, index=False)
    engine.dispose()
    frames = [read_source(_spec(write_pipeline, source=source).data)
              for source in ("train.csv", "train.parquet")]  # fmt: skip
    sql = write_pipeline(source="sqlite:///cancer.db")
    text = sql.read_text().replace(
        'target = "target"', 'target = "target"\nquery = "SELECT * FROM cancer"'
    )
    sql.write_text(text)
    frames.append(read_source(load_spec(sql).data))
    assert frames[2].attrs["name"].startswith("sqlite:///")
    hashes = {frame_sha256(frame) for frame in frames}
    assert len(hashes) == 1
    assert all(len(frame) == 569 for frame in frames)


def test_a_failing_query_names_the_key(write_pipeline, workdir):
    create_engine(f"sqlite:///{workdir / 'empty.db'}").dispose()
    path = write_pipeline(source="sqlite:///empty.db")
    path.write_text(
        path.read_text().replace(
            'target = "target"', 'target = "target"\nquery = "SELECT * FROM nowhere"'
        )
    )
    with pytest.raises(InvalidInput, match="data.query failed"):
        read_source(load_spec(path).data)


def test_prepare_selects_features_and_drops_rows_without_target(write_pipeline, cancer_frame):
    spec = _spec(write_pipeline)
    frame = cancer_frame.copy()
    frame.loc[:9, "target"] = np.nan
    frame.attrs["name"] = "cancer"
    data = prepare(frame, spec.data, task="classification")
    assert data.rows == 559 and "target" not in data.features.columns
    assert any("dropped 10 rows" in note for note in data.notes)
    assert data.frame.attrs["name"] == "cancer" and "target" in data.frame.columns


def test_prepare_refuses_what_would_ruin_a_model(write_pipeline, cancer_frame):
    spec = _spec(write_pipeline)
    with pytest.raises(InvalidInput, match="data.target = 'target' is not a column"):
        prepare(cancer_frame.drop(columns="target"), spec.data, task="classification")
    with pytest.raises(InvalidInput, match="fewer than data.min_rows"):
        prepare(cancer_frame.head(5), spec.data, task="classification")
    holes = cancer_frame.copy()
    holes.loc[: len(holes) * 0.6, "mean radius"] = np.nan
    with pytest.raises(InvalidInput, match="mean radius.*max_missing"):
        prepare(holes, spec.data, task="classification")
    one_class = cancer_frame.assign(target=1)
    with pytest.raises(InvalidInput, match="single class"):
        prepare(one_class, spec.data, task="classification")


def test_schema_against_the_champion(cancer_frame):
    features = cancer_frame.drop(columns="target")
    schema = schema_of(features)
    assert compare_schema(features, schema, allow_change=False) == []
    changed = features.drop(columns="mean area").assign(extra=1)
    changed["mean radius"] = changed["mean radius"].astype("float32")
    with pytest.raises(InvalidInput, match="lacks columns the champion uses: \\['mean area'\\]"):
        compare_schema(changed, schema, allow_change=False)
    notes = compare_schema(changed, schema, allow_change=True)
    assert any("mean area" in note for note in notes)
    assert any("extra" in note for note in notes)
    assert any("float64 -> float32" in note for note in notes)


def test_explicit_features_and_unknown_ignores(write_pipeline, cancer_frame):
    path = write_pipeline()
    path.write_text(path.read_text().replace(
        'target = "target"', 'target = "target"\nfeatures = ["mean radius", "mean area"]'))  # fmt: skip
    data = prepare(cancer_frame, load_spec(path).data, task="classification")
    assert list(data.features.columns) == ["mean radius", "mean area"]
    path.write_text(path.read_text().replace('"mean area"]', '"gone"]'))
    with pytest.raises(InvalidInput, match="gone"):
        prepare(cancer_frame, load_spec(path).data, task="classification")
    frame = pd.DataFrame({"a": range(30), "target": [0, 1] * 15})
    path.write_text(
        path.read_text().replace('features = ["mean radius", "gone"]', 'ignore = ["b"]')
    )
    data = prepare(frame, load_spec(path).data, task="classification")
    assert any("'b'" in note or "['b']" in note for note in data.notes)
