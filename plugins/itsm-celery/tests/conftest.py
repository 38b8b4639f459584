"""Fixtures: a real Redis, a real PostgreSQL cluster, a deployment using the celery runner, worker processes."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from celery_servers import RedisServer, Workers

if TYPE_CHECKING:  # imported late at run time: pytest rewrites the kit's asserts first
    from itsmcore.testing import PostgresCluster

pytest_plugins = ["itsmcore.testing"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the CI image must provide it)")
    pytest.skip(reason)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path)
    except FileNotFoundError as e:
        _missing(str(e))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresCluster]:
    """A cluster of the suite's own, which tests may stop and start (the kit's ``itsm_postgres`` is only a URL)."""
    from itsmcore.testing import PostgresCluster, find_pg_bin

    if find_pg_bin() is None:
        _missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed (Debian package postgresql-15)")
    server = PostgresCluster()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def database(postgres_server: PostgresCluster) -> Iterator[str]:
    """A fresh database for one test; dropped afterwards."""
    name = f"celery_{uuid.uuid4().hex[:10]}"
    url = postgres_server.create_database(name)
    yield url
    if not postgres_server.running:  # a test stopped it
        postgres_server.start()
    postgres_server.drop_database(name)


SERVICES = """
[[services]]
key = "record"
name = "Recorder"
description = "Records its idempotency key once."
plan = [{ action = "celerytest.record" }]

[[services]]
key = "slow"
name = "Slow recorder"
description = "Sleeps, then records its idempotency key once."
plan = [{ action = "celerytest.record", sleep = 6.0 }]

[[services]]
key = "mail"
name = "Mail"
description = "Email for everyone."
"""


@pytest.fixture
def make_config(tmp_path: Path, database: str, redis_server: RedisServer) -> Callable[..., Path]:
    """Write itsm.toml for a deployment on PostgreSQL with the celery runner; keyword args override runner settings."""

    def make(customers: int = 50, **runner: object) -> Path:
        settings = {
            "broker_url": redis_server.url,
            "queue": "itsm-test",
            "sweep_interval": 0.5,
            "lease_seconds": 3,
            "concurrency": 1,
            **runner,
        }
        lines = "\n".join(f"{k} = {_toml(v)}" for k, v in settings.items())
        text = textwrap.dedent(
            f"""\
            [deployment]
            name = "celerytest"
            database = "{database}"

            [plugins]
            modules = ["celerytest_plugin"]

            [directory.main]
            use = "synthetic"
            count = {customers}
            service = "mail"

            [announcements]
            batch_size = 2000

            [runner]
            use = "celery"
            """
        )
        path = tmp_path / "itsm.toml"
        path.write_text(text + lines + "\n" + SERVICES, encoding="utf-8")
        return path

    return make


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return f'"{v}"'


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Path], Workers]]:
    made: list[Workers] = []

    def make(config: Path) -> Workers:
        log_dir = tmp_path / "worker-logs"
        log_dir.mkdir(exist_ok=True)
        w = Workers(config, log_dir)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop_all()


@pytest.fixture(autouse=True)
def _signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITSM_SECRET", "celery-test-signing-secret")


def create_test_tables(desk: object) -> None:
    from sqlalchemy import text

    from celerytest_plugin import TABLES

    with desk.engine.begin() as conn:  # type: ignore[attr-defined]
        for ddl in TABLES:
            conn.execute(text(ddl))


def wait_for_jobs(
    desk: object, *, at_least: int, timeout: float, what: str = "jobs", logs: Callable[[], str] | None = None
) -> dict[str, int]:
    """Poll the job table until no job is pending or running and at least ``at_least`` exist."""
    deadline = time.monotonic() + timeout
    stats: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            stats = desk.job_stats()  # type: ignore[attr-defined]
        except Exception:
            time.sleep(0.5)
            continue
        if sum(stats.values()) >= at_least and not stats.get("pending") and not stats.get("running"):
            return stats
        time.sleep(0.3)
    tail = logs()[-6000:] if logs else ""
    raise AssertionError(f"{what} did not finish within {timeout}s: {stats}\n{tail}")
