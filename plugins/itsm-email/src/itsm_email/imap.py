"""The IMAP poller: unseen mail in one folder goes through the mailgate, then is marked seen (or moved).

A message the gate cannot take now (store down) stays unseen for the next round; one
that makes the gate fail unexpectedly is flagged ``ItsmFailed`` and skipped afterwards,
so one bad message cannot block the folder.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import select
import time
from collections.abc import Callable, Iterator

from itsmcore import ComponentContext, PermanentFailure, TemporaryFailure

from .channel import tls_context
from .gate import Mailgate, Outcome
from .settings import EmailSettings

log = logging.getLogger("itsm_email.imap")

FAILED_FLAG = "ItsmFailed"
#: RFC 5530's response code for "cannot do it now, a subsystem is down or busy" (Dovecot says
#: "[UNAVAILABLE] Temporary authentication failure" while its auth service is slow): not a
#: wrong password, so the login is tried again, then reported as temporary.
_UNAVAILABLE = "[UNAVAILABLE]"
LOGIN_ATTEMPTS = 3
_FETCHED = re.compile(rb"UID (\d+)")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapPoller:
    """Reads ``imap_folder`` of the channel's mailbox."""

    def __init__(self, settings: EmailSettings, context: ComponentContext):
        if not settings.imap_host:
            raise PermanentFailure("imap_host is not set in the channel's config table; 'email poll' needs it")
        self.settings = settings
        self.context = context
        self.conn: imaplib.IMAP4 | None = None

    # ------------------------------------------------------------------ connection

    def connect(self) -> imaplib.IMAP4:
        s = self.settings
        host, port = s.imap_host or "", s.imap_port_or_default
        where = f"{host}:{port}"
        try:
            conn: imaplib.IMAP4
            if s.imap_security == "tls":
                conn = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(s, self.context), timeout=s.timeout)
            else:
                conn = imaplib.IMAP4(host, port, timeout=s.timeout)
                if s.imap_security == "starttls":
                    conn.starttls(ssl_context=tls_context(s, self.context))
        except (OSError, imaplib.IMAP4.error) as e:
            raise TemporaryFailure(f"IMAP server {where} unreachable: {e}") from None
        try:
            password = self.context.secret(env=s.imap_password_env, file=s.imap_password_file)
        except OSError as e:
            raise PermanentFailure(f"cannot read the IMAP password file: {e.strerror}") from None
        if not s.imap_username or password is None:
            raise PermanentFailure("set imap_username and imap_password_env or imap_password_file")
        try:
            for attempt in range(1, LOGIN_ATTEMPTS + 1):
                try:
                    conn.login(s.imap_username, password)
                    break
                except imaplib.IMAP4.error as e:
                    if _UNAVAILABLE not in str(e):
                        raise
                    if attempt == LOGIN_ATTEMPTS:
                        conn.shutdown()
                        raise TemporaryFailure(f"IMAP server {where} cannot sign in now: {e}") from None
                    log.warning("IMAP server %s cannot sign in now (%s); trying again", where, e)
                    time.sleep(0.5 * 2 ** (attempt - 1))
            typ, _ = conn.select(_quote(s.imap_folder))
            if typ != "OK":
                raise PermanentFailure(f"IMAP folder {s.imap_folder!r} cannot be selected on {where}")
            if s.imap_processed_folder:
                conn.create(_quote(s.imap_processed_folder))  # NO when it exists: fine
        except imaplib.IMAP4.error as e:
            conn.shutdown()
            raise PermanentFailure(f"IMAP login or select on {where} failed: {e}") from None
        except OSError as e:
            raise TemporaryFailure(f"IMAP server {where} failed: {e}") from None
        self.conn = conn
        return conn

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.logout()
            self.conn = None

    # ------------------------------------------------------------------ one round

    def pending(self) -> list[str]:
        assert self.conn is not None
        typ, data = self.conn.uid("SEARCH", "UNSEEN", "UNKEYWORD", FAILED_FLAG)
        if typ != "OK" or not data or not data[0]:
            return []
        return [u.decode() for u in data[0].split()]

    def size(self, uid: str) -> int | None:
        """The message's size as the server states it, so a huge one is refused without downloading it."""
        assert self.conn is not None
        typ, data = self.conn.uid("FETCH", uid, "(RFC822.SIZE)")
        if typ != "OK":
            return None
        for item in data:
            text = item.decode(errors="replace") if isinstance(item, bytes) else ""
            m = re.search(r"RFC822\.SIZE (\d+)", text)
            if m:
                return int(m.group(1))
        return None

    def fetch(self, uid: str) -> bytes | None:
        assert self.conn is not None
        typ, data = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")
        if typ != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def done(self, uid: str) -> None:
        assert self.conn is not None
        self.conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
        target = self.settings.imap_processed_folder
        if target:
            if b"MOVE" in b" ".join(self._capabilities()):
                self.conn.uid("MOVE", uid, _quote(target))
            else:
                typ, _ = self.conn.uid("COPY", uid, _quote(target))
                if typ == "OK":
                    self.conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
                    self.conn.expunge()

    def failed(self, uid: str) -> None:
        assert self.conn is not None
        self.conn.uid("STORE", uid, "+FLAGS.SILENT", f"({FAILED_FLAG})")

    def _capabilities(self) -> tuple[bytes, ...]:
        assert self.conn is not None
        return tuple(c.encode() if isinstance(c, str) else c for c in self.conn.capabilities)

    def round(self, gate: Mailgate) -> Iterator[tuple[str, Outcome]]:
        """Handle every pending message once; yields (uid, outcome). StoreDown propagates (mail stays unseen)."""
        for uid in self.pending():
            refused = gate.too_large(self.size(uid) or 0)
            if refused is not None:  # left in the mailbox, seen (or moved), for a person to look at
                self.done(uid)
                yield uid, refused
                continue
            raw = self.fetch(uid)
            if raw is None:
                continue
            try:
                outcome = gate.ingest(raw)
            except Exception as e:
                from .gate import StoreDown

                if isinstance(e, StoreDown):
                    raise
                log.exception("message uid %s could not be handled; flagged %s", uid, FAILED_FLAG)
                self.failed(uid)
                yield uid, Outcome(action="failed", line=f"failed: {type(e).__name__}: {e}", exit_code=70)
                continue
            self.done(uid)
            yield uid, outcome

    # ------------------------------------------------------------------ waiting

    def supports_idle(self) -> bool:
        return self.conn is not None and b"IDLE" in self._capabilities()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for new mail: IMAP IDLE when offered, else sleep. True if mail arrived."""
        if not (self.settings.imap_idle and self.supports_idle()):
            time.sleep(timeout)
            return False
        return self._idle(timeout)

    def _idle(self, timeout: float) -> bool:
        conn = self.conn
        assert conn is not None
        tag = b"ITSMIDLE"
        conn.send(tag + b" IDLE\r\n")
        first = conn.readline()
        if not first.startswith(b"+"):
            raise TemporaryFailure(f"IMAP server refused IDLE: {first!r}")
        arrived = False
        deadline = time.monotonic() + timeout
        sock = conn.socket()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # wait with select: a timeout inside readline would break imaplib's buffered reader
                readable, _, _ = select.select([sock], [], [], left)
                if not readable:
                    break
                line = conn.readline()
                if not line:
                    raise TemporaryFailure("IMAP server closed the connection during IDLE")
                if line.startswith(b"*") and (b"EXISTS" in line or b"RECENT" in line):
                    arrived = True
                    break
        finally:
            conn.send(b"DONE\r\n")
            while True:
                line = conn.readline()
                if not line or line.startswith(tag):
                    break
        return arrived


def run(
    poller: ImapPoller,
    gate_factory: Callable[[], Mailgate],
    report: Callable[[str], None],
    *,
    once: bool,
) -> int:
    """Poll until interrupted (or one round with ``once``). Returns an exit status."""
    from .gate import EX_DATAERR, EX_TEMPFAIL, StoreDown

    status = 0
    while True:
        try:
            if poller.conn is None:
                poller.connect()
            gate = gate_factory()
            for uid, outcome in poller.round(gate):
                report(f"uid {uid}: {outcome.line}")
                # a refused message is reported; there is no MTA here to bounce it, and no reason to fail
                if outcome.exit_code and outcome.exit_code != EX_DATAERR:
                    status = outcome.exit_code
        except StoreDown as e:
            report(f"tempfail: store unavailable ({e}); mail left unseen for the next round")
            status = EX_TEMPFAIL
        except TemporaryFailure as e:
            report(f"tempfail: {e}")
            poller.close()
            status = EX_TEMPFAIL
        except (imaplib.IMAP4.abort, OSError) as e:
            report(f"tempfail: IMAP connection lost ({e})")
            poller.close()
            status = EX_TEMPFAIL
        if once:
            return status
        status = 0
        try:
            if poller.conn is not None:
                poller.wait(poller.settings.imap_poll_interval)
            else:
                time.sleep(poller.settings.imap_poll_interval)
        except (TemporaryFailure, imaplib.IMAP4.abort, OSError) as e:
            report(f"reconnecting: {e}")
            poller.close()
