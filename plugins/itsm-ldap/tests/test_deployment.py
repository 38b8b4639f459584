"""The backend inside a whole deployment: `[directory.corp] use = "ldap"`, the CLI and the desk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from itsmcore import Desk, IneligibleCustomer, TemporaryFailure
from itsmcore.cli import cli

from .conftest import PASSWORDS, Slapd, free_port

SERVICES = """\
[[services]]
key = "crm"
name = "CRM access"
description = "An account in the CRM: customer records and the sales pipeline."
keywords = ["crm", "pipeline"]
eligible = { groups = ["commercial"], explain = "the commercial teams" }
"""


def run(config: Path, *args: str) -> tuple[int, str]:
    """Exit code and what the command printed; with ``--format json``, its standard output only (logs go to stderr)."""
    result = CliRunner().invoke(cli, ["-c", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout if "json" in args else result.output


def test_customer_show_through_the_cli(slapd: Slapd, write_deployment: Callable[..., Path]) -> None:
    config = write_deployment(slapd)
    code, out = run(config, "customer", "show", "steve", "--format", "json")
    assert code == 0, out
    steve = json.loads(out)
    assert steve["name"] == "Steve Jones" and steve["manager"] == "scott" and steve["role"] == "sales"
    assert steve["groups"] == ["commercial", "everyone", "sales"]
    assert [d["id"] for d in steve["devices"]] == ["ci-laptop-steve", "ci-phone-steve"]
    code, out = run(config, "customer", "show", "steve")
    assert code == 0 and "Steve Jones" in out and "Steve's iPhone" in out


def test_customer_list_and_check(slapd: Slapd, write_deployment: Callable[..., Path]) -> None:
    config = write_deployment(slapd, services=SERVICES)
    code, out = run(config, "customer", "list", "--format", "json")
    assert code == 0, out
    assert sorted(c["id"] for c in json.loads(out)) == ["dana", "ivan", "scott", "steve"]
    code, out = run(config, "check")
    assert code == 0, out
    assert "corp (ldap)" in out and "customers:  4" in out


def test_group_eligibility_with_nested_groups(slapd: Slapd, write_deployment: Callable[..., Path]) -> None:
    with Desk.open(write_deployment(slapd, services=SERVICES)) as desk:
        steve = desk.authenticate("sjones", PASSWORDS["steve"])
        assert steve is not None and steve.id == "steve"
        # steve is in sales, and sales is in commercial: eligible through the nesting
        crm = next(s for s in desk.services if s.key == "crm")
        assert desk.eligibility(steve, crm).eligible
        receipt = desk.submit("value", "steve", "I need the CRM", service="crm")
        assert receipt.demand.id
        ivan = desk.get_customer("ivan")
        decision = desk.eligibility(ivan, crm)
        assert not decision.eligible and "commercial" in decision.reason
        with pytest.raises(IneligibleCustomer):
            desk.submit("value", "ivan", "I need the CRM", service="crm")


def test_desk_sign_in_reports_the_directory_unavailable(slapd: Slapd, write_deployment: Callable[..., Path]) -> None:
    port = free_port()
    with (
        Desk.open(write_deployment(slapd, url=f"ldap://127.0.0.1:{port}")) as desk,
        pytest.raises(TemporaryFailure, match=r"directory 'corp': cannot reach the LDAP server.*unavailable"),
    ):
        desk.authenticate("steve", PASSWORDS["steve"])


def test_cli_reports_an_unreachable_directory_without_a_traceback(
    slapd: Slapd, write_deployment: Callable[..., Path]
) -> None:
    config = write_deployment(slapd, url=f"ldap://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(cli, ["-c", str(config), "customer", "show", "steve"])
    assert result.exit_code == 1
    assert "error: directory 'corp': cannot reach the LDAP server" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"url": "http://dc.eagle5.example"}, "expected ldap://HOST"),
        ({"nested_groups": "deep"}, "nested_groups"),
        ({"user_filter": "objectClass=person"}, "user_filter: expected an LDAP filter"),
        ({"login_attributes": "uid"}, "login_attributes"),
        ({"start_tls": True, "url": "ldaps://127.0.0.1:1"}, "start_tls"),
        ({"bind_password": "secret"}, "unknown key"),
    ],
)
def test_config_errors_name_the_setting(
    slapd: Slapd, write_deployment: Callable[..., Path], change: dict[str, object], expected: str
) -> None:
    code, out = run(write_deployment(slapd, **change), "check")
    assert code == 2, out
    assert expected in out and "directory.corp" in out
