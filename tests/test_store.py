"""The store: migrations from empty on SQLite and PostgreSQL, and the schema they build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url, text

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


def test_sqlite_uri_filenames_keep_their_form_and_options(tmp_path: Path) -> None:
    """``sqlite:///file:PATH?uri=true`` (read-only copies, shared caches) resolves PATH only."""
    (tmp_path / "data").mkdir()
    rw = make_engine(resolve_url("sqlite:///file:data/itsm.db?uri=true", tmp_path))
    with rw.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER)"))
    rw.dispose()
    assert (tmp_path / "data" / "itsm.db").exists()
    url = resolve_url("sqlite:///file:data/itsm.db?mode=ro&uri=true", tmp_path)
    assert make_url(url).database == f"file:{tmp_path.resolve() / 'data/itsm.db'}"
    assert dict(make_url(url).query) == {"mode": "ro", "uri": "true"}
    ro = make_engine(url)
    with ro.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
        with pytest.raises(Exception, match="readonly"):
            conn.execute(text("INSERT INTO t VALUES (1)"))
    ro.dispose()
    memory = "sqlite:///file:shared?mode=memory&cache=shared&uri=true"
    assert make_url(resolve_url(memory, tmp_path)).database == "file:shared"
    assert not (tmp_path / "shared").exists()


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


def test_test_deployments_use_the_database_the_run_asks_for(
    itsm_deployment_factory: Callable[..., Path], write_deployment: Callable[..., Path], request: pytest.FixtureRequest
) -> None:
    """``--itsm-database=postgresql`` puts every default test deployment on PostgreSQL, plugins' ones included."""
    from itsmcore import Desk
    from itsmcore.testing import itsm_database

    wanted = itsm_database(request.config)
    for make in (itsm_deployment_factory, write_deployment):  # both write tmp_path/itsm.toml: one at a time
        with Desk.open(make()) as desk:
            assert desk.engine.dialect.name == wanted
            desk.ping()


def _submit_many(config: str, start: Any, out: Any, n: int) -> None:
    """One web process: ``n`` incidents and ``n`` requests, and the one email every process receives."""
    from itsmcore import Desk

    ids: list[int] = []
    with Desk.open(config) as desk:
        start.wait(60)
        shared = desk.submit("failure", "steve", "CRM is down", service="crm", external_ref="<same@mail.example>")
        for i in range(n):
            ids.append(desk.submit("failure", "steve", f"CRM error {i}", service="crm").demand.id)
            answers = {"mobile_number": "+447700900123", "mobile_os": "iOS"}
            ids.append(
                desk.submit("value", "steve", f"Expensatron {i}", service="expensatron", answers=answers).demand.id
            )
    out.put((shared.demand.id, shared.duplicate, ids))


def test_several_processes_submit_at_once_and_nothing_is_lost_or_doubled(
    write_deployment: Callable[..., Path], database_url: str
) -> None:
    """Four processes (four ``itsm serve`` workers, say) take in demands on one database at the same time."""
    import multiprocessing

    from itsmcore import Desk

    config = write_deployment(database=database_url)
    with Desk.open(config) as desk:  # migrate once, before the processes race
        desk.ping()
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    n = 15
    procs = [ctx.Process(target=_submit_many, args=(str(config), start, out, n)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    shared_ids = {shared for shared, _, _ in results}
    assert len(shared_ids) == 1, "one email, one demand, whichever process saw it first"
    assert sorted(dup for _, dup, _ in results) == [False, True, True, True]
    ids = [i for _, _, batch in results for i in batch]
    assert len(ids) == len(set(ids)) == 4 * 2 * n
    with Desk.open(config) as desk:
        everything = desk.list_demands(limit=1000)
        assert {d.id for d in everything} == set(ids) | shared_ids
        for demand_id in ids:
            assert [e.stage.value for e in desk.journey(demand_id)][:2] == ["engage", "acknowledge"]
        stats = desk.job_stats()
        assert set(stats) == {"done"}, stats
        assert stats["done"] == sum(len(desk.jobs(demand_id=d.id)) for d in everything)
        fulfilled = [d for d in everything if d.kind.value == "value"]
        assert len(fulfilled) == 4 * n and {d.state.value for d in fulfilled} == {"fulfilled"}
