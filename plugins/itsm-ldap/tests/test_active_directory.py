"""An Active Directory-shaped directory: AD's attributes and limits on a real slapd (see ``AdSlapd``).

Two OU trees, nested groups, a disabled account, a service account, a CN with a comma, a
non-ASCII name, 2,500 more users behind a 1,000-entry page limit, an account in 5,000
groups, and an OU whose referral points at itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import PermanentFailure

from .conftest import (
    AD_BULK_USERS,
    AD_HOARDED_GROUPS,
    AD_PAGE_LIMIT,
    AD_PASSWORDS,
    AD_REFERRAL,
    AD_STAFF,
    AdSlapd,
)

STEVE = AD_PASSWORDS["sjones"]


def test_ad_defaults_leave_disabled_accounts_out(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory()
    p = d.profile()
    assert not p.include_disabled
    assert p.user_filter == "(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
    assert d.get_customer("dleft") is None
    assert d.find_by_email("dana@eagle5.example") is None
    assert d.sign_in_entry("dleft") is None
    assert d.authenticate("dleft", AD_PASSWORDS["dleft"]) is None
    assert d.get_customer("sjones").id == "sjones"


def test_disabled_accounts_included_on_request_are_flagged(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory(include_disabled=True)
    dana = d.get_customer("dleft")
    assert dana is not None and dana.attributes["disabled"] == "true"
    assert d.authenticate("dleft", AD_PASSWORDS["dleft"]) is None  # listed, still never signed in


def test_service_accounts_are_customers_until_excluded(make_ad_directory: Callable[..., Any]) -> None:
    plain = make_ad_directory()
    assert plain.get_customer("svc-itsm") is not None
    assert plain.authenticate("svc-itsm", AD_PASSWORDS["svc-itsm"]).id == "svc-itsm"
    d = make_ad_directory(exclude_filter="(|(servicePrincipalName=*)(sAMAccountName=svc-*))")
    assert d.get_customer("svc-itsm") is None
    assert d.authenticate("svc-itsm", AD_PASSWORDS["svc-itsm"]) is None
    assert d.sign_in_entry("svc-itsm") is None
    assert d.get_customer("sjones").id == "sjones"


def test_both_ou_trees_comma_and_non_ascii_names(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory(exclude_filter="(servicePrincipalName=*)")
    ann = d.get_customer("alee")
    assert ann.name == "Ann Lee" and ",ou=contractors," in ann.attributes["dn"].lower()  # the other OU tree
    assert ann.groups == ("Commercial", "Sales")
    jose = d.authenticate("jnunez@corp.eagle5.example", AD_PASSWORDS["jnunez"])
    assert jose is not None and jose.name == "José Núñez"
    steve = d.authenticate("EAGLE5\\sjones", STEVE)
    assert steve is not None and steve.manager == "smiller" and steve.groups == ("Commercial", "Sales")


def test_domain_prefix_must_name_a_configured_domain(
    make_ad_directory: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    d = make_ad_directory(domains=["EAGLE5", "corp.eagle5.example"])
    for login in ("EAGLE5\\sjones", "eagle5\\SJONES", "corp.eagle5.example\\sjones"):
        assert d.sign_in_entry(login) == "sjones", login
        assert d.authenticate(login, STEVE).id == "sjones", login
    for login in ("X\\sjones", "OTHER\\sjones", "\\sjones", "EAGLE5\\", "EAGLE5.evil\\sjones"):
        assert d.sign_in_entry(login) is None, login
        assert d.authenticate(login, STEVE) is None, login
    assert "domain 'X' is not one of domains" in caplog.text
    # no domains configured: the DNS name base_dn spells is the only one accepted
    spelt = make_ad_directory(domains=None)
    assert spelt.profile().domains == ("corp.eagle5.example",)
    assert spelt.authenticate("corp.eagle5.example\\sjones", STEVE).id == "sjones"
    assert spelt.authenticate("EAGLE5\\sjones", STEVE) is None


def test_every_spelling_names_one_entry(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory()
    spellings = ["sjones", "SJones", "EAGLE5\\sjones", "sjones@corp.eagle5.example", "steve@eagle5.example"]
    assert {d.sign_in_entry(s) for s in spellings} == {"sjones"}
    assert d.sign_in_entry("nobody") is None
    assert d.sign_in_entry("*") is None


def test_listing_reads_2500_users_in_pages_under_the_server_limit(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory(base_dn=AD_STAFF, page_size=AD_PAGE_LIMIT, nested_groups="off")
    ids = [c.id for c in d.list_customers()]
    assert len(ids) == AD_BULK_USERS + 3  # the bulk users, steve, scott, the hoarder (dana is disabled)
    assert len(set(ids)) == len(ids)


def test_a_page_size_over_the_server_limit_is_a_config_error(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory(base_dn=AD_STAFF, page_size=AD_PAGE_LIMIT + 1, nested_groups="off")
    with pytest.raises(PermanentFailure) as info:
        list(d.list_customers())
    message = str(info.value)
    assert f"page_size = {AD_PAGE_LIMIT + 1} is more than the LDAP server allows per page" in message
    assert "try again" not in message


def test_an_entry_in_5000_groups_costs_a_bounded_number_of_searches(
    make_ad_directory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ldap3

    searches: list[str] = []
    real = ldap3.Connection.search

    def counting(self: Any, base: str, flt: str, *args: Any, **kwargs: Any) -> Any:
        searches.append(flt)
        return real(self, base, flt, *args, **kwargs)

    monkeypatch.setattr(ldap3.Connection, "search", counting)
    d = make_ad_directory(cache_seconds=0)
    hoarder = d.get_customer("hoarder")
    assert len(hoarder.groups) == AD_HOARDED_GROUPS + 1  # g0000..g4999, and Everything, which holds them all
    assert "Everything" in hoarder.groups and "g4999" in hoarder.groups
    assert len(searches) <= 2 + AD_HOARDED_GROUPS // 100 + 4, len(searches)


def test_a_referral_loop_is_reported_not_followed(make_ad_directory: Callable[..., Any]) -> None:
    d = make_ad_directory(base_dn=AD_REFERRAL)
    with pytest.raises(PermanentFailure, match=r"is held by another server.*referrals are not followed"):
        d.get_customer("sjones")
    # a search over the whole tree meets the same referral as a continuation: it is skipped
    whole = make_ad_directory(nested_groups="off")
    assert whole.get_customer("sjones").id == "sjones"
    assert len(list(whole.list_customers())) > AD_BULK_USERS


def test_ad_server_fixture_is_ad_shaped(ad_slapd: AdSlapd) -> None:
    assert ad_slapd.url.startswith("ldap://127.0.0.1:")
