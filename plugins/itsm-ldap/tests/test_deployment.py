"""The backend inside a whole deployment: `[directory.corp] use = "ldap"`, the CLI and the desk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from itsmcore import Desk, IneligibleCustomer, TemporaryFailure
from itsmcore.cli import cli

from .conftest import (
    AD_SERVICE_DN,
    AD_STAFF,
    PASSWORDS,
    SERVICE_PASSWORD_ENV,
    AdSlapd,
    Slapd,
    ad_table,
    free_port,
)

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


def test_check_warns_when_the_short_ad_form_matches_nobody(
    ad_slapd: AdSlapd, write_deployment: Callable[..., Path]
) -> None:
    # The README's short Active Directory form, on a server that is not AD: objectCategory=person matches nothing.
    config = write_deployment(
        url=ad_slapd.url,
        bind_dn=AD_SERVICE_DN,
        bind_password_env=SERVICE_PASSWORD_ENV,
        base_dn=AD_STAFF,
        active_directory=True,
    )
    code, out = run(config, "check")
    assert code == 0, out
    assert "customers:  0" in out
    assert "corp: Active Directory: yes (set by active_directory)" in out
    assert "corp: user filter: (&(&(objectCategory=person)(objectClass=user))" in out
    assert "corp: user filter matches 0 entries under OU=Staff" in out
    assert "warning: directory corp: user_filter" in out and "matches nothing under base_dn" in out
    assert "objectCategory=person works on Active Directory only" in out
    assert "disabled accounts: left out (AD's default" in out
    assert "DOMAIN\\name logins accepted for: corp.eagle5.example (from base_dn" in out


def test_check_prints_what_the_queries_found(ad_slapd: AdSlapd, write_deployment: Callable[..., Path]) -> None:
    config = write_deployment(**ad_table(ad_slapd, exclude_filter="(servicePrincipalName=*)", nested_groups="off"))
    code, out = run(config, "check")
    assert code == 0, out
    assert "warning" not in out
    assert "corp: user filter matches 2505 entries" in out  # 2,500 + steve, scott, ann, josé, the hoarder
    assert "corp: group query finds groups under OU=Groups" in out
    code, out = run(write_deployment(**ad_table(ad_slapd, group_base_dn=AD_STAFF)), "check")
    assert "warning: directory corp: group_filter" in out and "matches no group under OU=Staff" in out


def test_disabled_accounts_are_flagged_and_eligible_for_nothing(
    slapd: Slapd, write_deployment: Callable[..., Path]
) -> None:
    config = write_deployment(slapd, services=SERVICES)
    code, out = run(config, "customer", "show", "dana")
    assert code == 0, out
    assert "yes: the directory has switched this account off" in out
    code, out = run(config, "customer", "show", "dana", "--format", "json")
    assert json.loads(out)["disabled"] is True
    code, out = run(config, "customer", "list", "--format", "json")
    flags = {c["id"]: c["disabled"] for c in json.loads(out)}
    assert flags == {"dana": True, "ivan": False, "scott": False, "steve": False}
    with Desk.open(config) as desk:
        crm = next(s for s in desk.services if s.key == "crm")
        dana = desk.get_customer("dana")
        assert "commercial" in dana.groups  # the group rule alone would admit her
        decision = desk.eligibility(dana, crm)
        assert not decision.eligible and "disabled" in decision.reason
        with pytest.raises(IneligibleCustomer):
            desk.submit("value", "dana", "I need the CRM", service="crm")


def test_the_manager_is_shown_by_name(slapd: Slapd, write_deployment: Callable[..., Path]) -> None:
    config = write_deployment(slapd)
    code, out = run(config, "customer", "show", "steve")
    assert code == 0 and "Scott Miller (scott)" in out
    code, out = run(config, "customer", "list")
    assert code == 0 and "Scott Miller (scott)" in out
    steve = json.loads(run(config, "customer", "show", "steve", "--format", "json")[1])
    assert steve["manager"] == "scott" and steve["manager_name"] == "Scott Miller"


def test_portal_sign_in_during_an_outage_is_a_plain_503(
    own_slapd: Slapd, write_deployment: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("itsm_portal")
    from itsm_portal.app import create_app
    from starlette.testclient import TestClient

    config = write_deployment(own_slapd, cache_seconds=0)
    with Desk.open(config) as desk, TestClient(create_app(desk=desk), follow_redirects=False) as client:
        page = client.get("/signin").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"login": "steve", "password": PASSWORDS["steve"], "csrf": token, "next": "/"}
        own_slapd.stop()
        r = client.post("/signin", data=form)
        assert r.status_code == 503 and r.headers["Retry-After"]
        assert "Sign-in is unavailable, try again shortly." in r.text
        for detail in ("127.0.0.1", str(own_slapd.port), "Errno", "refused", "ldap://"):
            assert detail not in r.text
        assert f"127.0.0.1:{own_slapd.port}" in caplog.text  # the details are in the log
        own_slapd.start()
        assert client.post("/signin", data=form).status_code == 303  # back, and nothing was counted against steve
