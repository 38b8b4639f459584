"""Fixtures that build a throwaway deployment for a plugin's tests, on SQLite or PostgreSQL.

The database is SQLite in the test's temp dir unless the run asks for PostgreSQL with
``pytest --itsm-database=postgresql`` (or ``ITSM_TEST_DATABASE=postgresql``): then each
test gets a fresh database on a throwaway cluster (:mod:`itsmcore.testing.postgres`),
or on the server named by ``ITSM_TEST_POSTGRES_URL``. Run your suite both ways in CI.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..desk import Desk
    from .observer import HookRecorder

DEFAULT_PASSWORD = "correct horse battery staple"

#: The databases a test run can use.
DATABASES = ("sqlite", "postgresql")

CUSTOMERS = """\
[[customers]]
id = "steve"
name = "Steve Jones"
email = "steve@eagle5.example"
mobile = "+447700900123"
role = "sales"
department = "Sales"
groups = ["sales"]
manager = "scott"
password = "{hash}"

[[customers]]
id = "scott"
name = "Scott Miller"
email = "scott@eagle5.example"
role = "sales_manager"
department = "Sales"
groups = ["sales", "managers"]
password = "{hash}"

[[devices]]
id = "ci-phone-steve"
kind = "device"
name = "Steve's iPhone"
owner = "steve"
attributes = {{ number = "+447700900123", os = "iOS" }}
"""


def write_customers(path: Path, password: str = DEFAULT_PASSWORD) -> Path:
    """Write a small customers file (Steve and his manager Scott) for the builtin ``file`` directory."""
    from ..builtin.directory import hash_password

    path.write_text(CUSTOMERS.format(hash=hash_password(password)), encoding="utf-8")
    return path


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def itsm_database(config: pytest.Config) -> str:
    """The database this run was asked to use: ``sqlite`` (the default) or ``postgresql``."""
    chosen = config.getoption("itsm_database", None) or os.environ.get("ITSM_TEST_DATABASE") or "sqlite"
    if chosen not in DATABASES:
        raise pytest.UsageError(f"ITSM_TEST_DATABASE={chosen!r}: expected one of {', '.join(DATABASES)}")
    return str(chosen)


@pytest.fixture(scope="session")
def itsm_postgres() -> Iterator[str]:
    """The URL (without a database name) of a PostgreSQL server for this run.

    ``ITSM_TEST_POSTGRES_URL`` names an existing server; otherwise a throwaway cluster
    is started on 127.0.0.1 and removed at the end. Without PostgreSQL installed the
    tests that need it are skipped, or fail when ``CI=true``.
    """
    from .postgres import PostgresCluster, find_pg_bin

    url = os.environ.get("ITSM_TEST_POSTGRES_URL")
    if url:
        scheme, _, rest = url.partition("://")
        rest = rest.split("/", 1)[0]
        yield ("postgresql+psycopg" if scheme in ("postgres", "postgresql") else scheme) + "://" + rest
        return
    if find_pg_bin() is None:
        reason = "PostgreSQL is not installed here (Debian package postgresql-15, or set ITSM_TEST_POSTGRES_URL)"
        if _in_ci():
            pytest.fail(f"{reason}; CI=true, so the CI image must provide it")
        pytest.skip(reason)
    with PostgresCluster() as cluster:
        yield cluster.base_url


@pytest.fixture
def itsm_postgres_url(itsm_postgres: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards); its SQLAlchemy URL."""
    from .postgres import create_database_at, database_name, drop_database_at

    name = database_name(request.node.name)
    url = create_database_at(itsm_postgres, name)
    yield url
    with contextlib.suppress(Exception):  # the server is down (a test stopped it): the cluster goes at the end anyway
        drop_database_at(itsm_postgres, name)


@pytest.fixture
def itsm_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL for a test's deployment: SQLite in the temp dir, or PostgreSQL when the run asks for it."""
    if itsm_database(request.config) == "postgresql":
        return str(request.getfixturevalue("itsm_postgres_url"))
    return f"sqlite:///{tmp_path / 'itsm.db'}"


@pytest.fixture
def itsm_deployment_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Build a deployment in a temp dir; returns the path of its itsm.toml.

    Call it with extra TOML (your component's tables, services) and optionally a
    ``database`` URL. By default the database is the run's (see :func:`itsm_database_url`).
    """

    def make(extra: str = "", *, database: str | None = None, name: str = "test") -> Path:
        write_customers(tmp_path / "customers.toml")
        config = tmp_path / "itsm.toml"
        if database is None:
            database = str(request.getfixturevalue("itsm_database_url"))
        head = textwrap.dedent(
            f"""
            [deployment]
            name = "{name}"
            database = "{database}"

            [directory.main]
            use = "file"
            path = "customers.toml"
            """
        )
        config.write_text(head + textwrap.dedent(extra), encoding="utf-8")
        return config

    return make


@pytest.fixture
def itsm_hook_recorder() -> HookRecorder:
    """A fresh recorder of journey hook calls, for :meth:`ObserverContract.assert_complete <itsmcore.testing.ObserverContract.assert_complete>`.

    Register it when you open a desk (``Desk.open(config, plugins=[itsm_hook_recorder])``);
    :func:`itsm_desk` registers it itself when the test asks for both.
    """
    from .observer import HookRecorder

    return HookRecorder()


@pytest.fixture
def itsm_desk(itsm_deployment_factory: Callable[..., Path], request: pytest.FixtureRequest) -> Iterator[Desk]:
    """An open desk on a fresh deployment, with installed plugins loaded.

    Pass extra TOML with ``@pytest.mark.itsm_config("...")`` and extra plugin objects
    with ``@pytest.mark.itsm_plugins(obj, ...)``. A test that also asks for
    :func:`itsm_hook_recorder` gets it registered on this desk.
    """
    from ..desk import Desk

    extra_marker = request.node.get_closest_marker("itsm_config")
    plugins_marker = request.node.get_closest_marker("itsm_plugins")
    extra = extra_marker.args[0] if extra_marker else ""
    plugins: Sequence[object] = plugins_marker.args if plugins_marker else ()
    if "itsm_hook_recorder" in request.fixturenames:
        plugins = (*plugins, request.getfixturevalue("itsm_hook_recorder"))
    with Desk.open(itsm_deployment_factory(extra), plugins=plugins) as desk:
        yield desk


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("itsm", "itsmcore")
    group.addoption(
        "--itsm-database",
        dest="itsm_database",
        choices=DATABASES,
        default=None,
        help="Database of the test deployments: sqlite (default) or postgresql (env ITSM_TEST_DATABASE).",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"itsm database: {itsm_database(config)}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "itsm_config(toml): extra TOML for the itsm_desk fixture's deployment")
    config.addinivalue_line("markers", "itsm_plugins(*plugins): plugin objects to register for itsm_desk")
