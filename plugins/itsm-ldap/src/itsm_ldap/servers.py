"""The directory's LDAP servers: which to try first, passing over one that does not answer, and the bind.

``url`` then ``fallback_urls``: a server that cannot be reached, times out or says it is
busy is tried last for :data:`DOWN_SECONDS`, and the next one answers instead. A server that
answers a bind, even with "invalid credentials", is the one that decides: the same password
is never tried on a second server (on Active Directory each try counts towards the
account's own lockout).
"""

from __future__ import annotations

import logging
import math
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import ldap3  # type: ignore[import-untyped,unused-ignore]
from itsmcore import TemporaryFailure
from ldap3.core import exceptions as lex  # type: ignore[import-untyped,unused-ignore]

from .settings import LdapDirectorySettings

log = logging.getLogger(__name__)

#: Result codes after which trying again later may work, as the server's answer is quoted.
TEMPORARY_CODES = {3: "time limit exceeded", 51: "busy", 52: "unavailable"}
#: Of those, the ones after which another server may answer at once (the request was not processed).
FAILOVER_CODES = {51, 52}
#: Seconds a server that did not answer is tried only after the others (a hung domain controller).
DOWN_SECONDS = 30.0


def server_label(server: Any) -> str:
    return f"{'ldaps' if server.ssl else 'ldap'}://{server.host}:{server.port}"


def unbind(conn: Any) -> None:
    """Close a connection, whatever state a failure left it in."""
    if conn.closed:
        return
    try:
        conn.unbind()
    except Exception as e:  # a socket broken by a failed TLS handshake or a dead server
        log.debug("unbind failed (%s); closing the socket", e)
        try:
            conn.strategy.close()
        except Exception as e2:
            log.debug("closing the socket failed too: %s", e2)


class Servers:
    """The servers of one directory, in the order to try them, and a bound connection from the first that answers."""

    def __init__(self, settings: LdapDirectorySettings, label: str, ca_file: str | None):
        self.settings = settings
        self.label = label
        self.ca_file = ca_file
        self.servers = [self._server(url) for url in (settings.url, *settings.fallback_urls)]
        self._down: dict[int, float] = {}  # id(server) -> monotonic time until which it is tried last
        self._down_lock = threading.Lock()

    def _server(self, url: str) -> Any:
        parts = urlsplit(url)
        secure = parts.scheme.lower() == "ldaps"
        tls = None
        if secure or self.settings.start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED if self.settings.tls_verify else ssl.CERT_NONE,
                ca_certs_file=self.ca_file,
                version=ssl.PROTOCOL_TLS_CLIENT if self.settings.tls_verify else None,
            )
        return ldap3.Server(
            parts.hostname,
            port=parts.port or (636 if secure else 389),
            use_ssl=secure,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=self.settings.connect_timeout,
        )

    def ordered(self) -> list[Any]:
        """``url`` then ``fallback_urls``, except that servers which did not answer lately come last."""
        now = time.monotonic()
        with self._down_lock:
            down = {id(s) for s in self.servers if self._down.get(id(s), 0.0) > now}
        return [s for s in self.servers if id(s) not in down] + [s for s in self.servers if id(s) in down]

    def mark_down(self, server: Any) -> None:
        with self._down_lock:
            self._down[id(server)] = time.monotonic() + DOWN_SECONDS

    def mark_up(self, server: Any) -> None:
        with self._down_lock:
            self._down.pop(id(server), None)

    def another_up(self, server: Any) -> bool:
        """Whether a server other than ``server`` has not failed lately (worth retrying an operation on)."""
        now = time.monotonic()
        with self._down_lock:
            return any(s is not server and self._down.get(id(s), 0.0) <= now for s in self.servers)

    def connect(self, user: str | None, password: str | None) -> tuple[Any, bool]:
        """A connection bound (or refused) by the first server that answers, and whether the bind succeeded.

        A server that cannot be reached, does not answer within ``receive_timeout``, or
        says it is busy or unavailable is passed over for the next one; a server that
        answers the bind, even with "invalid credentials", ends the search: the same
        password is never tried on a second server (on AD each try counts towards the
        account's own lockout).
        """
        problems: list[str] = []
        for server in self.ordered():
            server.reset_availability()  # failover is decided here, not by ldap3's memory of past failures
            conn = ldap3.Connection(
                server,
                user=user,
                password=password,
                authentication=ldap3.SIMPLE if user else ldap3.ANONYMOUS,
                auto_bind=ldap3.AUTO_BIND_NONE,
                auto_referrals=False,  # a referral is reported, never chased: no loops, no surprise servers
                read_only=True,
                raise_exceptions=False,
                receive_timeout=math.ceil(self.settings.receive_timeout),  # ldap3 packs it as an integer
                client_strategy=ldap3.SYNC,
                check_names=False,
                return_empty_attributes=False,
            )
            try:
                conn.open()
                if self.settings.start_tls and not conn.start_tls():
                    raise lex.LDAPStartTLSError(conn.result.get("description") or "StartTLS refused by the server")
                ok = bool(conn.bind())
            except lex.LDAPException as e:
                problems.append(f"{server_label(server)}: {self.describe(e)}")
                self.mark_down(server)
                unbind(conn)
                continue
            code = (conn.result or {}).get("result")
            if not ok and code in FAILOVER_CODES:
                problems.append(f"{server_label(server)}: answered {TEMPORARY_CODES[code]!r}")
                self.mark_down(server)
                unbind(conn)
                continue
            self.mark_up(server)
            if problems:
                log.warning("%s: used %s; passed over %s", self.label, server_label(server), "; ".join(problems))
            return conn, ok
        raise TemporaryFailure(
            f"{self.label}: cannot reach the LDAP server ({'; '.join(problems)}); sign-in and customer lookups are "
            "unavailable until it answers"
        )

    def describe(self, e: BaseException) -> str:
        text = str(e) or type(e).__name__
        if isinstance(e, TimeoutError) or "timed out" in text.lower():
            return f"did not answer within {self.settings.receive_timeout:g} s"
        if isinstance(e, lex.LDAPStartTLSError) or "certificate" in text.lower() or "ssl" in text.lower():
            return f"TLS failed ({text}); check ca_file and that the certificate names this host"
        return text
