"""The store: migrations from empty on SQLite and PostgreSQL, and the schema they build."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from itsmcore import StoreUnavailable
from itsmcore.store.engine import (
    MIGRATIONS,
    SCHEMA_REVISION,
    current_revision,
    include_object,
    make_engine,
    open_engine,
    resolve_url,
)
from itsmcore.store.tables import metadata


def test_schema_revision_is_alembic_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_empty_database_is_migrated_on_first_use_and_matches_the_tables(database_url: str) -> None:
    engine = open_engine(database_url)
    try:
        assert current_revision(engine) == SCHEMA_REVISION
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
            diff = compare_metadata(ctx, metadata)
            assert diff == [], f"migrations and tables.py disagree: {diff}"
            assert {"demands", "journey_events", "jobs", "announcements"} <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_relative_sqlite_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    assert resolve_url("sqlite:///data/itsm.db", tmp_path) == f"sqlite:///{tmp_path.resolve() / 'data/itsm.db'}"
    assert resolve_url("sqlite://", tmp_path) == "sqlite://"


def test_a_database_behind_the_code_is_refused_without_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0000')"))
    engine.dispose()
    with pytest.raises(StoreUnavailable, match="run 'itsm db upgrade'"):
        open_engine(url)


def test_invalid_url() -> None:
    with pytest.raises(StoreUnavailable, match="invalid database URL"):
        make_engine("not a url")
