"""Fixtures that build a throwaway deployment for a plugin's tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..desk import Desk

DEFAULT_PASSWORD = "correct horse battery staple"

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


@pytest.fixture
def itsm_deployment_factory(tmp_path: Path) -> Callable[..., Path]:
    """Build a deployment in a temp dir; returns the path of its itsm.toml.

    Call it with extra TOML (your component's tables, services) and optionally a
    ``database`` URL (SQLite in the temp dir by default).
    """

    def make(extra: str = "", *, database: str | None = None, name: str = "test") -> Path:
        write_customers(tmp_path / "customers.toml")
        config = tmp_path / "itsm.toml"
        head = textwrap.dedent(
            f"""
            [deployment]
            name = "{name}"
            database = "{database or "sqlite:///itsm.db"}"

            [directory.main]
            use = "file"
            path = "customers.toml"
            """
        )
        config.write_text(head + textwrap.dedent(extra), encoding="utf-8")
        return config

    return make


@pytest.fixture
def itsm_desk(itsm_deployment_factory: Callable[..., Path], request: pytest.FixtureRequest) -> Iterator[Desk]:
    """An open desk on a fresh deployment, with installed plugins loaded.

    Pass extra TOML with ``@pytest.mark.itsm_config("...")`` and extra plugin objects
    with ``@pytest.mark.itsm_plugins(obj, ...)``.
    """
    from ..desk import Desk

    extra_marker = request.node.get_closest_marker("itsm_config")
    plugins_marker = request.node.get_closest_marker("itsm_plugins")
    extra = extra_marker.args[0] if extra_marker else ""
    plugins: Sequence[object] = plugins_marker.args if plugins_marker else ()
    with Desk.open(itsm_deployment_factory(extra), plugins=plugins) as desk:
        yield desk


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "itsm_config(toml): extra TOML for the itsm_desk fixture's deployment")
    config.addinivalue_line("markers", "itsm_plugins(*plugins): plugin objects to register for itsm_desk")
