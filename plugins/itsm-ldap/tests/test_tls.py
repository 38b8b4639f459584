"""StartTLS and LDAPS against slapd with a self-signed certificate for 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import TemporaryFailure

from .conftest import PASSWORDS, Slapd


def test_start_tls_with_the_ca_file(slapd: Slapd, make_directory: Callable[..., Any], caplog: Any) -> None:
    d = make_directory(slapd, start_tls=True, ca_file=str(slapd.cert))
    assert "clear text" not in caplog.text
    assert d.authenticate("steve", PASSWORDS["steve"]).id == "steve"
    assert d.authenticate("steve", "wrong") is None


def test_ldaps_with_the_ca_file(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, url=slapd.ldaps_url, ca_file=str(slapd.cert))
    assert d.authenticate("sjones@corp.eagle5.example", PASSWORDS["steve"]).id == "steve"


@pytest.mark.parametrize("mode", ["start_tls", "ldaps"])
def test_untrusted_certificate_is_refused_clearly(slapd: Slapd, make_directory: Callable[..., Any], mode: str) -> None:
    changes: dict[str, Any] = {"start_tls": True} if mode == "start_tls" else {"url": slapd.ldaps_url}
    d = make_directory(slapd, **changes)  # the system CAs do not know the self-signed certificate
    with pytest.raises(TemporaryFailure, match=r"TLS failed.*ca_file"):
        d.authenticate("steve", PASSWORDS["steve"])


def test_verification_can_be_turned_off_for_a_lab(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, start_tls=True, tls_verify=False)
    assert d.authenticate("steve", PASSWORDS["steve"]).id == "steve"
