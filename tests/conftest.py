"""Shared fixtures: deployments on SQLite, and on PostgreSQL when it can run here."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pg import create_database, find_pg_bin, postgres_cluster

pytest_plugins = ["itsmcore.testing"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL of a PostgreSQL server: ITSM_TEST_POSTGRES_URL, or a throwaway cluster."""
    url = os.environ.get("ITSM_TEST_POSTGRES_URL")
    if url:
        yield url.rstrip("/").rsplit("/", 1)[0] if url.count("/") > 2 else url
        return
    if find_pg_bin() is None:
        if IN_CI:
            pytest.fail("CI=true but PostgreSQL server binaries are not installed; .ci/run must install them")
        pytest.skip("PostgreSQL is not installed here (set ITSM_TEST_POSTGRES_URL to use a server)")
    with postgres_cluster() as base:
        yield base


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for one test."""
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    return create_database(postgres_server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'itsm.db'}"
    return str(request.getfixturevalue("postgres_url"))


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
def write_deployment(tmp_path: Path) -> Callable[..., Path]:
    """Write a deployment (config, customers, catalog) into a temp dir; returns the config path."""

    def write(extra: str = "", *, database: str | None = None, services: str = SERVICES, name: str = "test") -> Path:
        (tmp_path / "customers.toml").write_text(CUSTOMERS)
        db = database or "sqlite:///itsm.db"
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
def eagle5(tmp_path: Path) -> Callable[..., Path]:
    """A copy of the Eagle5 example in a temp dir, on the given database; returns its config path."""
    import shutil

    def make(database: str | None = None, extra: str = "") -> Path:
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
