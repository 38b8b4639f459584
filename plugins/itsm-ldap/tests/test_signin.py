"""Sign-in: search by any login attribute (escaped), then bind as the entry found."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import Customer, PermanentFailure

from .conftest import PASSWORDS, Slapd

STEVE = PASSWORDS["steve"]


@pytest.fixture
def directory(slapd: Slapd, make_directory: Callable[..., Any]) -> Any:
    return make_directory(slapd)


@pytest.mark.parametrize(
    "login",
    ["steve", "steve@eagle5.example", "sjones", "sjones@corp.eagle5.example", "STEVE", "  Steve@Eagle5.Example "],
    ids=["uid", "mail", "sAMAccountName", "userPrincipalName", "upper-case", "mixed-case-mail"],
)
def test_signs_in_by_any_login_attribute(directory: Any, login: str) -> None:
    c = directory.authenticate(login, STEVE)
    assert isinstance(c, Customer)
    assert c.id == "steve" and c.name == "Steve Jones"


@pytest.mark.parametrize("password", ["wrong", "expenses-on-the-go-9", STEVE + " ", PASSWORDS["scott"]])
def test_wrong_password_is_none(directory: Any, password: str) -> None:
    assert directory.authenticate("steve", password) is None


def test_empty_password_is_refused_even_though_ldap_would_accept_it(slapd: Slapd, directory: Any) -> None:
    import shutil
    import subprocess

    if shutil.which("ldapwhoami"):
        # What the backend protects against: a DN with an empty password is an anonymous bind, and it "succeeds".
        out = subprocess.run(
            ["ldapwhoami", "-x", "-H", slapd.url, "-D", "uid=steve,ou=people,dc=eagle5,dc=example", "-w", ""],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0 and out.stdout.strip() == "anonymous"
    assert directory.authenticate("steve", "") is None
    assert directory.authenticate("steve", None) is None  # a form field that was not sent


@pytest.mark.parametrize(
    "login",
    [
        "*",
        "*)(uid=*",
        "steve)(|(uid=*",
        "st*",
        "*@eagle5.example",
        "steve)(uid=scott",
        "(uid=steve)",
        "steve\\",
        "a\x00b",
    ],
)
def test_hostile_logins_match_nobody(directory: Any, login: str) -> None:
    for password in PASSWORDS.values():
        assert directory.authenticate(login, password) is None
    assert directory.get_customer(login) is None
    assert directory.find_by_email(login) is None


def test_a_login_shared_by_two_entries_signs_in_nobody(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    # department "Sales" is held by several people: as a login attribute it is ambiguous.
    d = make_directory(slapd, login_attributes=["department"])
    assert d.authenticate("Sales", STEVE) is None


def test_disabled_account_cannot_sign_in_and_is_flagged(directory: Any) -> None:
    assert directory.authenticate("dana", PASSWORDS["dana"]) is None
    assert directory.authenticate("dleft@corp.eagle5.example", PASSWORDS["dana"]) is None
    dana = directory.get_customer("dana")
    assert dana is not None and dana.attributes["disabled"] == "true"
    steve = directory.get_customer("steve")
    assert "disabled" not in steve.attributes


def test_disabled_accounts_can_be_hidden(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, include_disabled=False)
    assert d.get_customer("dana") is None
    assert "dana" not in {c.id for c in d.list_customers()}
    assert d.authenticate("dana", PASSWORDS["dana"]) is None


def test_active_directory_domain_prefix(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(
        slapd, active_directory=True, user_filter="(objectClass=inetOrgPerson)", id_attribute="uid", nested_groups="off"
    )
    assert d.profile().active_directory
    # no domains configured: only the DNS name base_dn spells (eagle5.example) is accepted as a prefix
    assert d.authenticate("eagle5.example\\sjones", STEVE).id == "steve"
    assert d.authenticate("EAGLE5\\sjones", STEVE) is None
    named = make_directory(
        slapd,
        active_directory=True,
        user_filter="(objectClass=inetOrgPerson)",
        id_attribute="uid",
        nested_groups="off",
        domains=["EAGLE5"],
    )
    assert named.authenticate("EAGLE5\\sjones", STEVE).id == "steve"
    assert named.authenticate("X\\sjones", STEVE) is None
    # AD's defaults: sAMAccountName, userPrincipalName, mail (the explicit list above is AD's own list plus uid)
    d2 = make_directory(
        slapd,
        active_directory=True,
        user_filter="(objectClass=inetOrgPerson)",
        login_attributes=None,
        id_attribute="sAMAccountName",
        nested_groups="off",
    )
    assert d2.profile().login_attributes == ("sAMAccountName", "userPrincipalName", "mail")
    assert d2.authenticate("sjones", STEVE).id == "sjones"
    assert d2.authenticate("steve", STEVE) is None  # uid is not a login attribute on AD


def test_openldap_is_not_detected_as_active_directory(directory: Any) -> None:
    p = directory.profile()
    assert not p.active_directory and p.nested_groups == "walk" and p.id_attribute == "uid"


def test_passwords_never_reach_the_logs(directory: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    directory.authenticate("steve", "a-wrong-secret-77")
    directory.authenticate("dana", PASSWORDS["dana"])
    directory.authenticate("steve", STEVE)
    assert "sign-in refused" in caplog.text
    for secret in ("a-wrong-secret-77", PASSWORDS["dana"], STEVE, "service-account-secret"):
        assert secret not in caplog.text


def test_wrong_service_account_password_is_a_clear_permanent_failure(
    slapd: Slapd, make_directory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITSM_LDAP_TEST_BIND_PASSWORD", "not-the-password")
    d = make_directory(slapd)
    with pytest.raises(
        PermanentFailure, match="service account 'cn=itsm,ou=services,dc=eagle5,dc=example' was refused"
    ):
        d.authenticate("steve", STEVE)


def test_service_password_from_a_file(slapd: Slapd, make_directory: Callable[..., Any], tmp_path: Any) -> None:
    (tmp_path / "bind.secret").write_text("service-account-secret\n", encoding="utf-8")
    d = make_directory(slapd, bind_password_env=None, bind_password_file="bind.secret")
    assert d.authenticate("steve", STEVE).id == "steve"


def test_missing_service_password_stops_the_build(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match=r"no password was found.*NOT_SET_ANYWHERE"):
        make_directory(slapd, bind_password_env="NOT_SET_ANYWHERE")


def test_concurrent_sign_ins_share_a_small_pool(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, pool_size=2, cache_seconds=0)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            login, password = (("steve", STEVE), ("scott", PASSWORDS["scott"]), ("steve", "wrong"))[i % 3]
            results.append((login, password, d.authenticate(login, password)))
            results.append(("get", "", d.get_customer("ivan")))
        except BaseException as e:  # collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 48
    for login, password, c in results:
        if login == "get":
            assert c.id == "ivan"
        elif password == "wrong":
            assert c is None
        else:
            assert c.id == login
