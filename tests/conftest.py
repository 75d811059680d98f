"""Shared fixtures: trained models on bundled datasets, and a registry per catalog backend.

The contract suite runs every registry test against SQLite and against the PostgreSQL server on
127.0.0.1:5432 (started here if it is down; skipped loudly only when it cannot be had).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.s3server import s3, s3_server  # noqa: F401  (fixtures for every S3 test)

from ferry import Registry

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The names inside the wheel pip would install, built once per session (a few seconds)."""
    import os
    import zipfile

    from hatchling.build import build_wheel  # the PEP 517 hook pip calls

    import ferry

    out = tmp_path_factory.mktemp("wheel")
    here = Path.cwd()
    os.chdir(Path(ferry.__file__).parents[2])  # the project root, where pyproject.toml is
    try:
        wheel = out / build_wheel(str(out))
    finally:
        os.chdir(here)
    return zipfile.ZipFile(wheel).namelist()


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def pipeline(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)


@pytest.fixture(scope="session")
def forest(cancer: tuple[pd.DataFrame, pd.Series]) -> RandomForestClassifier:
    X, y = cancer
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def regressor() -> tuple[LinearRegression, pd.DataFrame]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return LinearRegression().fit(X, y), X


def _postgres_available() -> str | None:
    """None when the server answers; otherwise why not (after one attempt to start it)."""
    import psycopg

    def ping() -> str | None:
        try:
            psycopg.connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
            ).close()
        except psycopg.OperationalError as error:
            return str(error)
        return None

    if ping() is None:
        return None
    clusters = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
    if clusters:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1].name, "main", "start"],
            capture_output=True,
            check=False,
        )
    return ping()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_available()
    if problem is not None:
        pytest.skip(
            f"!!! PostgreSQL on 127.0.0.1:5432 cannot be had, its tests are SKIPPED: {problem}"
        )
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    import psycopg

    name = f"ferry_test_{uuid.uuid4().hex[:12]}"
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The catalog URL for each backend of the contract suite."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'ferry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def registry(tmp_path: Path, catalog_url: str) -> Iterator[Registry]:
    with Registry(home=tmp_path / "home", catalog=catalog_url) as opened:
        yield opened


@contextmanager
def statements(registry: Registry, starting: str) -> Iterator[list[str]]:
    """Every statement starting with ``starting`` (``SELECT``, ``INSERT INTO rollout_labels``)
    that the registry's catalog runs inside the block."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(starting.upper()):
            seen.append(statement)

    event.listen(registry.catalog.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(registry.catalog.engine, "before_cursor_execute", record)


@pytest.fixture
def sql_statements(registry: Registry) -> Iterator[list[str]]:
    """Every SELECT the registry's catalog runs while the test does (clear it to start over):
    how tests hold a page to a fixed number of queries, whatever the number of models."""
    with statements(registry, "SELECT") as seen:
        yield seen


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(home=tmp_path / "home") as opened:
        yield opened


@pytest.fixture
def old_catalog() -> Callable[..., None]:
    """Leave the catalog at ``url`` at an older schema ``revision``, holding what ``statements``
    insert, as an older ferry would have left it: where each migration test starts."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    import ferry.registry.catalog as catalog_module

    def make(url: str, revision: str, *statements: str) -> None:
        config = Config()
        migrations = Path(catalog_module.__file__).with_name("migrations")
        config.set_main_option("script_location", str(migrations))
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    return make


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def log_file() -> Callable[..., str]:
    """Write one prediction-log (or feedback) file of ``rows`` rows into a past ``day``, through
    the store the server writes with; returns its path."""
    import io

    from ferry.logstore.store import LogStore

    def write(store: LogStore, day: str, *, rows: int = 10, kind: str = "predictions",
              model: str = "m") -> str:  # fmt: skip
        frame = pd.DataFrame({"x": range(rows), "ferry_request_id": [f"r{i}" for i in range(rows)]})
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        folder = (kind, f"model={model}", *(["version=1.0.0"] if kind == "predictions" else []))
        return store.write((*folder, f"day={day}"), buffer.getvalue(), "test")

    return write


@pytest.fixture
def recorded_libraries() -> Callable[[Registry, str, dict[str, str]], None]:
    """Rewrite the library versions a version recorded, as an older image would have written
    them: the catalog row, ``metadata.json`` and its hash stay consistent (``verify`` passes)."""
    import json

    from sqlalchemy import text

    from ferry.registry.artifacts import METADATA_FILE, sha256_bytes
    from ferry.registry.metadata import encode_metadata

    def rewrite(registry: Registry, reference: str, libraries: dict[str, str]) -> None:
        version = registry.resolve(reference)
        metadata = {**version.metadata, "dependencies": {**version.metadata["dependencies"]}}
        metadata["dependencies"].update(libraries)
        encoded = encode_metadata(metadata)
        folder = registry.settings.home / "models" / version.name / f"v{version.version}"
        (folder / METADATA_FILE).write_bytes(encoded)
        with registry.catalog.writing() as session:
            session.connection.execute(
                text("UPDATE versions SET metadata = :m, metadata_sha256 = :s "
                     "WHERE model_name = :n AND version = :v"),
                {"m": json.dumps(metadata, sort_keys=True), "s": sha256_bytes(encoded),
                 "n": version.name, "v": version.version},
            )  # fmt: skip

    return rewrite


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One SparkSession (pyspark, local[2]) for every Spark test, started once per run.

    Starting a JVM costs seconds, so the session is shared and each test makes its own small
    DataFrames. Skips, loudly, only when no Java runtime is installed.
    """
    import shutil

    if shutil.which("java") is None:
        pytest.skip("SPARK TESTS SKIPPED: no Java runtime on PATH (pyspark needs Java 17+)")
    from ferry.spark.compat import quiet_pandas_warnings
    from ferry.spark.session import spark_session

    tiny = {  # tiny frames: two shuffle partitions; a JVM that starts fast rather than peaks
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    with quiet_pandas_warnings():
        session = spark_session("local[2]", "ferry-tests", config=tiny)
    yield session
    session.stop()
