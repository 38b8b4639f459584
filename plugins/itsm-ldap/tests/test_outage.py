"""A directory that cannot be reached: clear TemporaryFailure, never a crash, recovery when it is back."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest
from itsmcore import TemporaryFailure

from .conftest import PASSWORDS, HungServer, Slapd, free_port


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


def test_a_hung_server_is_reported_as_not_answering(
    slapd: Slapd, make_directory: Callable[..., Any], hung_server: HungServer
) -> None:
    d = make_directory(slapd, url=hung_server.url, receive_timeout=1)
    with pytest.raises(TemporaryFailure) as info:
        d.authenticate("steve", PASSWORDS["steve"])
    message = str(info.value)
    assert f"127.0.0.1:{hung_server.port}: did not answer within 1 s" in message
    assert "dropped" not in message
    # one wait, not two: the server was asked once for this sign-in
    assert len(hung_server.accepted) == 1


def test_a_hung_server_moves_on_to_the_fallback(
    slapd: Slapd, make_directory: Callable[..., Any], hung_server: HungServer
) -> None:
    d = make_directory(slapd, url=hung_server.url, fallback_urls=[slapd.url], receive_timeout=1, cache_seconds=0)
    assert d.authenticate("steve", PASSWORDS["steve"]).id == "steve"
    assert d.get_customer("scott").id == "scott"
    assert d.authenticate("scott", PASSWORDS["scott"]).id == "scott"
    # asked once; afterwards the server that hung is tried last, so nobody waits for it again
    assert len(hung_server.accepted) == 1


def test_a_pooled_connection_to_a_server_that_hangs_later_fails_over(
    own_slapd: Slapd, slapd: Slapd, make_directory: Callable[..., Any]
) -> None:
    d = make_directory(own_slapd, fallback_urls=[slapd.url], receive_timeout=1, cache_seconds=0, pool_size=1)
    assert d.get_customer("steve").id == "steve"  # a pooled connection to own_slapd is open
    assert own_slapd.proc is not None
    own_slapd.proc.send_signal(signal.SIGSTOP)  # the domain controller hangs: connected, never answering
    try:
        assert d.get_customer("scott").id == "scott"  # answered by the fallback within the same call
    finally:
        own_slapd.proc.send_signal(signal.SIGCONT)
