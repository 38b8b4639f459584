"""Opening a database: URL handling, SQLite pragmas, migrations on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool, StaticPool

from ..errors import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest migration; a test checks it is Alembic's head.
SCHEMA_REVISION = "0024"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave out of autogenerate what tables.py cannot describe: FTS5 tables, expression indexes."""
    if type_ == "table" and name and name.startswith(("catalog_fts", "knowledge_fts")):
        return False
    return not (
        type_ == "index" and name in ("ix_services_fts", "ix_services_trgm", "ix_knowledge_fts", "ix_knowledge_trgm")
    )


def _sqlite_uri(u: URL) -> bool:
    """Whether ``u`` names an SQLite URI filename (``sqlite:///file:PATH?uri=true``)."""
    return str(u.query.get("uri", "")).lower() in ("true", "1") and (u.database or "").startswith("file:")


def _sqlite_file(u: URL) -> Path | None:
    """The file an SQLite URL opens, or None for an in-memory database."""
    database = u.database or ""
    if _sqlite_uri(u):
        if u.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:")
    return Path(database) if database and database != ":memory:" else None


def resolve_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the config file, not to the working directory."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreUnavailable(f"invalid database URL {url!r}: {e}") from None
    path = _sqlite_file(u) if u.get_backend_name() == "sqlite" else None
    if path is not None and not path.is_absolute():
        resolved = str((base_dir / path).resolve())
        u = u.set(database=f"file:{resolved}" if _sqlite_uri(u) else resolved)
    return u.render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; NORMAL is durable across process
    # crashes in WAL mode; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (already resolved), configured for this project's use."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreUnavailable(f"invalid database URL {url!r}: {e}") from None
    kwargs: dict[str, Any] = {}
    backend = u.get_backend_name()
    if backend == "sqlite":
        file = _sqlite_file(u)
        if file is None:
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            parent = file.parent
            if not parent.is_dir():
                raise StoreUnavailable(f"cannot open database {safe_url(url)}: directory {parent} does not exist")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    elif backend == "postgresql":
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(u, **kwargs)
    except (ArgumentError, ImportError) as e:
        raise StoreUnavailable(f"cannot use database {safe_url(url)}: {e}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, ``None`` for an empty one."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as e:
        raise StoreUnavailable(f"cannot open database {safe_url(str(engine.url))}: {_first_line(e)}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped migrations (``itsm db upgrade``)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as e:
        raise StoreUnavailable(f"cannot upgrade database {safe_url(str(engine.url))}: {_first_line(e)}") from None


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """An engine on an up-to-date schema. An empty database is upgraded on first use."""
    engine = make_engine(url)
    rev = current_revision(engine)
    if rev == SCHEMA_REVISION:
        return engine
    if rev is None and migrate:
        upgrade(engine)
        return engine
    engine.dispose()
    if rev is None:
        raise StoreUnavailable(f"database {safe_url(url)} has no schema; run 'itsm db upgrade'")
    raise StoreUnavailable(
        f"database {safe_url(url)} is at schema {rev}, this itsmcore needs {SCHEMA_REVISION}; run 'itsm db upgrade'"
    )


def _first_line(e: SQLAlchemyError) -> str:
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


__all__ = ["NullPool", "current_revision", "make_engine", "open_engine", "resolve_url", "safe_url", "upgrade"]
