"""The desk's sign-in limit over an AD-shaped directory: one count per entry, whatever the spelling."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from itsmcore import Desk, TooManyAttempts

from .conftest import AD_PASSWORDS, AdSlapd, ad_table

STEVE = AD_PASSWORDS["sjones"]
SPELLINGS = ["sjones", "EAGLE5\\sjones", "sjones@corp.eagle5.example", "steve@eagle5.example", "SJones"]


@pytest.fixture
def desk(ad_slapd: AdSlapd, write_deployment: Callable[..., Path]) -> Iterator[Desk]:
    config = write_deployment(services="[security]\nsign_in_attempts_per_address = 4\n", **ad_table(ad_slapd))
    with Desk.open(config) as d:
        yield d


def test_every_spelling_of_a_login_shares_one_allowance(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for login in SPELLINGS:  # five failures, one per spelling
        assert desk.authenticate(login, "not-the-password") is None
    for login in [*SPELLINGS, "eagle5\\SJONES"]:
        with pytest.raises(TooManyAttempts):
            desk.authenticate(login, STEVE)
    # the lock is said once, at the failure that reached the limit: further refusals are no louder than info
    warnings = [r for r in caplog.records if "sign-in locked after" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    # another account is not affected
    scott = desk.authenticate("smiller", AD_PASSWORDS["smiller"])
    assert scott is not None and scott.id == "smiller"


def test_an_unknown_domain_never_reaches_the_account(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for domain in ("X", "Y", "Z", "W", "V", "U"):
        assert desk.authenticate(f"{domain}\\sjones", STEVE) is None  # even with the right password
    assert "domain 'X' is not one of domains" in caplog.text
    assert "sign-in refused for" not in caplog.text  # no bind was made: AD's own lockout counter is untouched
    steve = desk.authenticate("EAGLE5\\sjones", STEVE)
    assert steve is not None and steve.id == "sjones"


def test_the_service_desk_unlocks_by_any_spelling_or_the_customer_id(desk: Desk) -> None:
    for login in SPELLINGS:
        desk.authenticate(login, "not-the-password")
    with pytest.raises(TooManyAttempts):
        desk.authenticate("sjones", STEVE)
    assert desk.unlock_sign_in("steve@eagle5.example") == 5
    assert desk.authenticate("EAGLE5\\sjones", STEVE).id == "sjones"
    for login in SPELLINGS:
        desk.authenticate(login, "not-the-password")
    assert desk.unlock_sign_in("sjones") == 5  # the customer id, as the desk shows it


def test_the_per_address_limit_still_holds(desk: Desk) -> None:
    for login in ("smiller", "alee", "jnunez", "nobody-at-all"):  # four logins, one address: its limit
        assert desk.authenticate(login, "not-the-password", address="192.0.2.9") is None
    with pytest.raises(TooManyAttempts):
        desk.authenticate("sjones", STEVE, address="192.0.2.9")
    steve = desk.authenticate("sjones", STEVE, address="192.0.2.10")
    assert steve is not None and steve.id == "sjones"
