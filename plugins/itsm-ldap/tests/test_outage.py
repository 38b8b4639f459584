"""A directory that cannot be reached: clear TemporaryFailure, never a crash, recovery when it is back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import TemporaryFailure

from .conftest import PASSWORDS, Slapd, free_port


def test_closed_port_is_a_temporary_failure(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    port = free_port()
    d = make_directory(slapd, url=f"ldap://127.0.0.1:{port}")
    for call in (
        lambda: d.authenticate("steve", PASSWORDS["steve"]),
        lambda: d.get_customer("steve"),
        lambda: list(d.list_customers()),
        lambda: d.find_by_email("steve@eagle5.example"),
        lambda: d.configuration_items("steve"),
    ):
        with pytest.raises(TemporaryFailure) as info:
            call()
        message = str(info.value)
        assert "directory 'corp'" in message and f"127.0.0.1:{port}" in message
        assert "cannot reach the LDAP server" in message and "unavailable" in message


def test_fallback_server_is_used(slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(slapd, url=f"ldap://127.0.0.1:{free_port()}", fallback_urls=[slapd.url])
    assert d.authenticate("steve", PASSWORDS["steve"]).id == "steve"


def test_stopped_server_then_recovery(own_slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(own_slapd, cache_seconds=0)
    assert d.get_customer("steve").id == "steve"  # a pooled connection is now open
    own_slapd.stop()
    with pytest.raises(TemporaryFailure, match="unavailable"):
        d.get_customer("steve")
    with pytest.raises(TemporaryFailure, match="unavailable"):
        d.authenticate("steve", PASSWORDS["steve"])
    own_slapd.start()
    assert d.authenticate("steve", PASSWORDS["steve"]).id == "steve"
    assert d.get_customer("scott").id == "scott"


def test_server_restart_behind_a_pooled_connection(own_slapd: Slapd, make_directory: Callable[..., Any]) -> None:
    d = make_directory(own_slapd, cache_seconds=0, pool_size=1)
    assert d.get_customer("steve") is not None
    own_slapd.stop()
    own_slapd.start()
    # the pooled connection is dead; the backend notices and retries once on a fresh one
    assert d.get_customer("steve").id == "steve"
