"""The IMAP poller against a real Dovecot: `itsm email poll --once`, seen/moved flags, IDLE."""

from __future__ import annotations

import imaplib
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from conftest import CORPUS, ImapServer
from itsmcore import Desk
from itsmcore.cli import cli
from itsmcore.testing import context_for

from itsm_email.imap import ImapPoller
from itsm_email.settings import EmailSettings


def login(server: ImapServer) -> imaplib.IMAP4:
    """Sign in as the test mailbox, waiting out "[UNAVAILABLE]" while Dovecot's auth service is busy."""
    deadline = time.monotonic() + 30
    while True:
        conn = imaplib.IMAP4(server.host, server.port)
        try:
            conn.login(server.user, server.password)
            return conn
        except imaplib.IMAP4.error as e:
            conn.shutdown()
            if "[UNAVAILABLE]" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def append(server: ImapServer, *names: str, folder: str = "INBOX") -> None:
    conn = login(server)
    for name in names:
        typ, _ = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), (CORPUS / name).read_bytes())
        assert typ == "OK"
    conn.logout()


def flags(server: ImapServer, folder: str = "INBOX") -> list[str]:
    conn = login(server)
    _typ, count = conn.select(folder)
    if count[0] == b"0":
        conn.logout()
        return []
    _typ, data = conn.fetch("1:*", "(FLAGS)")
    conn.logout()
    return [d.decode() for d in data if isinstance(d, bytes)]


def imap_settings(server: ImapServer, **extra: object) -> dict[str, object]:
    return {
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_security": "none",
        "imap_username": server.user,
        "imap_password_env": "TEST_IMAP_PASSWORD",
        **extra,
    }


def test_poll_once(deployment: Callable[..., Path], dovecot: ImapServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    config = deployment(preferred=False, **imap_settings(dovecot))
    append(dovecot, "outlook_new.eml", "out_of_office.eml", "gmail_reply.eml")
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "uid 1: created demand 1",
        "uid 2: dropped: auto-reply (Auto-Submitted: auto-replied)",
        "uid 3: added reply to demand 1",
    ]
    assert all("\\Seen" in f for f in flags(dovecot))
    again = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"], catch_exceptions=False)
    assert again.exit_code == 0 and again.output == "", "handled mail is not taken in twice"
    with Desk.open(config) as desk:
        assert len(desk.list_demands()) == 1


def test_poll_moves_to_processed_folder(deployment: Callable[..., Path], dovecot: ImapServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    config = deployment(preferred=False, **imap_settings(dovecot, imap_processed_folder="Processed"))
    append(dovecot, "phone_no_subject.eml")
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"], catch_exceptions=False)
    assert r.output.strip() == "uid 1: created demand 1"
    assert flags(dovecot) == []
    assert len(flags(dovecot, "Processed")) == 1


def test_store_down_leaves_mail_unseen(deployment: Callable[..., Path], dovecot: ImapServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    config = deployment(preferred=False, **imap_settings(dovecot))
    append(dovecot, "phone_no_subject.eml")
    config.write_text(re.sub(r'database = ".*"', 'database = "sqlite:///missing/dir/itsm.db"', config.read_text()))
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"], catch_exceptions=False)
    assert r.exit_code == 75
    assert not any("\\Seen" in f for f in flags(dovecot))


def test_wrong_imap_password(deployment: Callable[..., Path], dovecot: ImapServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong")
    config = deployment(preferred=False, **imap_settings(dovecot))
    r = CliRunner().invoke(cli, ["-c", str(config), "email", "poll", "--once"])
    assert r.exit_code == 78 and "login" in r.output


def test_idle_wakes_on_new_mail(tmp_path: Path, dovecot: ImapServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.password)
    settings = EmailSettings(from_address="support@eagle5.example", **imap_settings(dovecot))  # type: ignore[arg-type]
    poller = ImapPoller(settings, context_for(tmp_path))
    poller.connect()
    try:
        assert poller.supports_idle()
        timer = threading.Timer(0.5, append, args=(dovecot, "phone_no_subject.eml"))
        timer.start()
        # True means the server told us of the mail; a wait that ran out would be False
        assert poller.wait(300) is True, "IDLE must return when mail arrives, not when it times out"
        timer.join()
        assert len(poller.pending()) == 1
        assert poller.wait(0.3) is False, "no new mail: the wait times out"
    finally:
        poller.close()
