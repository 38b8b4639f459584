"""A server that cannot sign anyone in for a moment ("[UNAVAILABLE]", RFC 5530) is a temporary failure.

Dovecot answers this way while its auth service is slow (seen under load), but cannot be
made to on demand, so these tests use a small IMAP responder of our own on 127.0.0.1 that
speaks just enough of the protocol: greeting, CAPABILITY, LOGIN, SELECT, LOGOUT.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from itsmcore import TemporaryFailure
from itsmcore.testing import context_for

from itsm_email.imap import LOGIN_ATTEMPTS, ImapPoller
from itsm_email.settings import EmailSettings


class _Responder(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        for raw in self.rfile:
            tag, _, rest = raw.decode().strip().partition(" ")
            command = rest.split(" ", 1)[0].upper()
            if command == "LOGIN":
                server.logins += 1
                if server.logins <= server.unavailable:
                    self.wfile.write(f"{tag} NO [UNAVAILABLE] Temporary authentication failure\r\n".encode())
                    continue
                self.wfile.write(f"{tag} OK logged in\r\n".encode())
            elif command == "SELECT":
                self.wfile.write(f"* 0 EXISTS\r\n{tag} OK [READ-WRITE] selected\r\n".encode())
            elif command == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} OK done\r\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, unavailable: int):
        super().__init__(("127.0.0.1", 0), _Responder)
        self.unavailable = unavailable
        self.logins = 0


@pytest.fixture
def responder() -> Iterator[_Server]:
    server = _Server(unavailable=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _poller(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ImapPoller:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    host, port = server.server_address[:2]
    settings = EmailSettings(
        from_address="support@eagle5.example",
        imap_host=str(host),
        imap_port=int(port),
        imap_security="none",
        imap_username="support",
        imap_password_env="TEST_IMAP_PASSWORD",
    )  # type: ignore[call-arg]
    return ImapPoller(settings, context_for(tmp_path))


def test_a_moment_of_unavailable_sign_in_is_tried_again(
    responder: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    responder.unavailable = LOGIN_ATTEMPTS - 1
    conn = _poller(responder, tmp_path, monkeypatch).connect()
    assert responder.logins == LOGIN_ATTEMPTS
    conn.logout()


def test_sign_in_unavailable_throughout_is_temporary_not_a_config_error(
    responder: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    responder.unavailable = LOGIN_ATTEMPTS
    with pytest.raises(TemporaryFailure, match=r"cannot sign in now.*UNAVAILABLE"):
        _poller(responder, tmp_path, monkeypatch).connect()
    assert responder.logins == LOGIN_ATTEMPTS
    with socket.create_connection(responder.server_address[:2], timeout=5):
        pass  # the responder still serves: the poller closed its connection, nothing hangs
