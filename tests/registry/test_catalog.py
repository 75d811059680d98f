from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import ferry.registry.catalog as catalog_module
from ferry.registry.catalog import SCHEMA_REVISION, Catalog


def test_schema_revision_is_the_newest_migration():
    config = Config()
    config.set_main_option(
        "script_location", str(Path(catalog_module.__file__).with_name("migrations"))
    )
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_new_catalog_is_migrated_to_the_newest_schema(catalog_url):
    catalog = Catalog(catalog_url)
    try:
        tables = set(inspect(catalog.engine).get_table_names())
        assert {"models", "versions", "aliases", "alias_moves", "events"} <= tables
        with catalog.reading() as session:
            revision = session.connection.execute(text("SELECT version_num FROM alembic_version"))
            assert revision.scalar_one() == SCHEMA_REVISION
    finally:
        catalog.close()
    Catalog(catalog_url).close()


def test_sqlite_catalog_uses_wal(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'ferry.db'}")
    try:
        with catalog.reading() as session:
            mode = session.connection.execute(text("PRAGMA journal_mode")).scalar_one()
        assert mode == "wal"
    finally:
        catalog.close()


def test_plain_postgresql_urls_use_psycopg():
    assert catalog_module._normalise("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
