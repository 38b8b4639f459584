"""Shared fixtures: deployments on the run's database (SQLite, or PostgreSQL with --itsm-database=postgresql)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["itsmcore.testing"]


def pytest_configure(config: pytest.Config) -> None:
    # imported here, not above: pytest rewrites the kit's asserts once it has registered it
    from itsmcore.testing.profiles import use_hypothesis_profiles

    use_hypothesis_profiles()  # the property tests' profiles (HYPOTHESIS_PROFILE=fuzz for tox -e fuzz)


def _run_database(config: pytest.Config) -> str:
    from itsmcore.testing import itsm_database  # imported late: pytest rewrites the plugin's asserts first

    return itsm_database(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves out the SQLite half of the tests that run on both databases,
    and the tests that open no database at all (they ran in the SQLite pass)."""
    if _run_database(config) != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        sqlite_half = callspec is not None and callspec.params.get("database_url") == "sqlite"
        (drop if sqlite_half or item.get_closest_marker("no_database") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def postgres_url(itsm_postgres_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return itsm_postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Store tests run on both databases in every run (the PostgreSQL pass runs only the PostgreSQL half)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'itsm.db'}"
    return str(request.getfixturevalue("itsm_postgres_url"))


CUSTOMERS = """
[[customers]]
id = "steve"
name = "Steve Jones"
email = "steve@eagle5.example"
mobile = "+447700900123"
role = "sales"
department = "Sales"
groups = ["sales", "crm-users"]
manager = "scott"
preferred_channels = ["log"]

[[customers]]
id = "scott"
name = "Scott Miller"
email = "scott@eagle5.example"
role = "sales_manager"
department = "Sales"
groups = ["sales", "managers"]

[[customers]]
id = "patrick"
name = "Patrick Hale"
email = "patrick@eagle5.example"
role = "service_desk"
department = "IT"
groups = ["service-desk"]

[[devices]]
id = "ci-phone-steve"
kind = "device"
name = "Steve's iPhone"
owner = "steve"
attributes = { number = "+447700900123", os = "iOS" }
"""

SERVICES = """
[[services]]
key = "expensatron"
name = "Expensatron expenses app"
description = "Claim expenses from your phone: snap the receipt, done."
keywords = ["expenses", "receipts"]
category = "Apps"
eligible = { roles = ["sales", "sales_manager"] }
asks = ["mobile_number", "mobile_os"]
quick_start = [{ title = "Expensatron in 2 minutes", url = "https://apps.example/expensatron/start" }]
plan = [
  { action = "cmdb.verify_device" },
  { action = "notify.send_link", url = "https://apps.example/expensatron", title = "Download Expensatron" },
]

[[services]]
key = "crm"
name = "CRM"
description = "Customer records and the sales pipeline."
keywords = ["crm", "customers", "pipeline"]
kind = "failure"
"""


@pytest.fixture
def write_deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Write a deployment (config, customers, catalog) into a temp dir; returns the config path."""

    def write(extra: str = "", *, database: str | None = None, services: str = SERVICES, name: str = "test") -> Path:
        (tmp_path / "customers.toml").write_text(CUSTOMERS)
        db = database or str(request.getfixturevalue("itsm_database_url"))
        text = textwrap.dedent(
            f"""
            [deployment]
            name = "{name}"
            database = "{db}"

            [directory.main]
            use = "file"
            path = "customers.toml"
            """
        )
        path = tmp_path / "itsm.toml"
        path.write_text(text + textwrap.dedent(extra) + services)
        return path

    return write


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "eagle5"


@pytest.fixture
def eagle5(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """A copy of the Eagle5 example in a temp dir, on the given database (the run's by default); its config path."""
    import shutil

    def make(database: str | None = None, extra: str = "") -> Path:
        if database is None and _run_database(request.config) == "postgresql":
            database = str(request.getfixturevalue("itsm_postgres_url"))
        target = tmp_path / "eagle5"
        if not target.exists():
            shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("*.db*", ".itsm-secret"))
        config = target / "itsm.toml"
        text = config.read_text()
        if database:
            text = text.replace('database = "sqlite:///eagle5.db"', f'database = "{database}"')
        config.write_text(text + extra)
        return config

    return make
