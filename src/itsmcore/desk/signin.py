"""Signing in: the directory's password check, guarded by limits shared by every process."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text, update

from ..errors import TooManyAttempts
from ..model import Customer
from ..store import rows
from ..store import tables as t
from .context import Context

log = logging.getLogger("itsmcore.desk")


class SignIn:
    """Password sign-in for channels (the portal); failures counted in the store."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def authenticate(
        self,
        login: str,
        password: str,
        *,
        address: str | None = None,
        attempts: int | None = None,
        window: timedelta | None = None,
    ) -> Customer | None:
        """The customer whose password this is (plugins first, then the directory), else ``None``.

        Guarded against password guessing by the ``[security]`` limits, counted in the
        database so that every process sharing it sees the same count: while the
        directory entry the login names, or ``address`` (the client's network address,
        when known), has had too many failures within the window, raises
        :class:`~itsmcore.errors.TooManyAttempts` without checking the password. Failures
        are counted per entry, not per spelling: ``steve``, ``CORP\\steve``, the UPN and
        the mail address of one account share one count (a login no directory knows is
        counted as typed, case-folded). A wrong password, an unknown login and an empty
        password all count alike, and all return ``None``: nothing says which it was.
        Success clears the entry's failures. ``attempts`` and ``window`` override the
        deployment's per-entry limit for this call (a channel with a rule of its own).
        """
        rules = self.ctx.config.security
        limit = attempts if attempts is not None else rules.sign_in_attempts
        span = window if window is not None else timedelta(minutes=rules.sign_in_window_minutes)
        typed = self.key(login)
        # the directory names the entry first (a search, never a password check): an outage raises, uncounted
        entry = self.ctx.directory.sign_in_entry(login) if login.strip() else None
        key = self.entry_key(entry) if entry else typed
        address = (address.strip()[:64] or None) if address else None
        failure = self._count(key, address, limit, span)
        try:
            customer = None
            if login.strip() and isinstance(password, str) and password:
                customer = self.ctx.host.authenticate(self.ctx.desk, login, password, self.ctx.on_error(None))
                if customer is None:
                    customer = self.ctx.directory.authenticate(login, password)
        except BaseException:
            # the directory could not answer (an outage): not the customer's failure
            with self.ctx.engine.begin() as conn:
                conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.id == failure))
            raise
        if customer is not None:
            with self.ctx.engine.begin() as conn:
                conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key.in_({key, typed})))
        else:
            self._note_lock(key, limit, span)
        return customer

    def unlock(self, login: str) -> int:
        """Forget the failed sign-ins of the entry a login names, so the customer may try again now; how many.

        What the service desk does for a customer locked out by the ``[security]`` limit
        (``itsm customer unlock LOGIN``), on every process at once since the count is shared.
        ``login`` may be any spelling the customer signs in with, or their customer id: the
        failures of the entry it names go, and those counted under what was typed.
        """
        keys = {self.key(login), self.entry_key(login)}
        try:
            entry = self.ctx.directory.sign_in_entry(login) if login.strip() else None
        except Exception as e:  # the directory is down: forget what can be found without it
            log.warning("unlocking sign-in: the directory could not name the entry (%s)", e)
            entry = None
        if entry:
            keys.add(self.entry_key(entry))
        with self.ctx.engine.begin() as conn:
            res = conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key.in_(keys)))
        log.info("sign-in failures of a login forgotten by hand (%d)", res.rowcount)
        return int(res.rowcount or 0)

    def key(self, login: str) -> str:
        """A login as typed, as counted when no directory knows it: a keyed hash of its case-folded form."""
        typed = login.strip().casefold().encode()
        return hmac.new(self.ctx.secret(), b"sign-in\0" + typed, hashlib.sha256).hexdigest()

    def entry_key(self, entry: str) -> str:
        """A directory entry (its customer id or DN) as counted: a keyed hash, in a space of its own."""
        name = entry.strip().casefold().encode()
        return hmac.new(self.ctx.secret(), b"sign-in-entry\0" + name, hashlib.sha256).hexdigest()

    def _note_lock(self, key: str, limit: int, span: timedelta) -> None:
        """Log once, at the failure that reaches the limit, that an entry is now locked.

        Anyone can lock a named customer out by guessing; each further refused attempt is
        only an info line, so a stream of guesses does not flood the log with warnings.
        """
        f = t.sign_in_failures
        since = self.ctx.clock() - span
        with self.ctx.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(f).where(f.c.login_key == key, f.c.at > since)).scalar()
        if n == limit:
            log.warning(
                "sign-in locked after %d failed attempts within %d min; the service desk can unlock it now "
                "(itsm customer unlock LOGIN)",
                limit,
                round(span.total_seconds() / 60),
            )

    def _count(self, key: str, address: str | None, limit: int, span: timedelta) -> int:
        """Record one attempt as a failure (success deletes it) unless over a limit; the new row's id.

        Counting and recording are one step per login (and address) across processes, so
        that concurrent attempts cannot all see "one left": PostgreSQL serialises them on
        advisory locks; on SQLite the insert comes first, taking the database's write
        lock before anything is counted.
        """
        f = t.sign_in_failures
        per_address = self.ctx.config.security.sign_in_attempts_per_address if address else 0
        now = self.ctx.clock()
        since = now - span
        with self.ctx.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = [f"login:{key}"] + ([f"address:{address}"] if per_address else [])
                for name in names:  # always login before address: no two attempts wait on each other in a cycle
                    lock = int.from_bytes(
                        hashlib.sha256(b"itsm.sign_in:" + name.encode()).digest()[:8], "big", signed=True
                    )
                    conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})
            row_id = int(
                conn.execute(insert(f).values(login_key=key, address=address, at=now).returning(f.c.id)).scalar_one()
            )
            # old rows go as new ones come: the table holds about one window of failures
            oldest = now - max(span, timedelta(minutes=self.ctx.config.security.sign_in_window_minutes))
            conn.execute(delete(f).where(f.c.at <= oldest))
            wait = 0.0
            checks = [(f.c.login_key == key, limit)] + ([(f.c.address == address, per_address)] if per_address else [])
            for which, allowed in checks:
                # the allowed-th most recent earlier failure: while it is within the window, the limit is reached
                nth = conn.execute(
                    select(f.c.at)
                    .where(which, f.c.at > since, f.c.id != row_id)
                    .order_by(f.c.at.desc(), f.c.id.desc())
                    .limit(1)
                    .offset(allowed - 1)
                ).scalar()
                if nth is not None:
                    wait = max(wait, ((rows.aware(nth) or now) + span - now).total_seconds())
            if wait > 0:
                log.info(
                    "sign-in refused without checking the password: too many failures (address %s); retry in %ds",
                    address or "unknown",
                    int(wait) + 1,
                )
                raise TooManyAttempts(wait)  # rolls the attempt back: a refusal is not counted
        return row_id


class Sessions:
    """Signed-in sessions held in the store: signing out ends one everywhere, at once.

    A channel keeps only the token in its cookie; the store keeps the token's SHA-256, so
    neither a copy of the database nor a log can be turned into a session. A cookie copied
    before sign-out stops working at sign-out, not when it would have expired.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @staticmethod
    def _id(token: str) -> str:
        return hashlib.sha256(b"itsm.session:" + token.encode()).hexdigest()

    def begin(self, customer_id: str, hours: float) -> str:
        """A new session for the customer, valid ``hours``; its token (kept by the channel, not here)."""
        token = secrets.token_urlsafe(32)
        now = self.ctx.clock()
        s = t.sign_in_sessions
        with self.ctx.engine.begin() as conn:
            conn.execute(delete(s).where(s.c.expires_at <= now))  # the table holds live sessions only
            conn.execute(
                insert(s).values(
                    id=self._id(token), customer_id=customer_id, started_at=now, expires_at=now + timedelta(hours=hours)
                )
            )
        return token

    def customer(self, token: object) -> str | None:
        """The customer id of a live session (not ended, not expired), else ``None``."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        s = t.sign_in_sessions
        with self.ctx.reads.connect() as conn:
            row = conn.execute(
                select(s.c.customer_id, s.c.expires_at).where(s.c.id == self._id(token), s.c.ended_at.is_(None))
            ).first()
        now = self.ctx.clock()
        if row is None or (rows.aware(row.expires_at) or now) <= now:
            return None
        return str(row.customer_id)

    def end(self, token: object) -> bool:
        """End one session (sign-out); whether it was live."""
        if not isinstance(token, str) or not token:
            return False
        s = t.sign_in_sessions
        with self.ctx.engine.begin() as conn:
            done = conn.execute(
                update(s).where(s.c.id == self._id(token), s.c.ended_at.is_(None)).values(ended_at=self.ctx.clock())
            )
        return bool(done.rowcount)

    def end_all(self, customer_id: str) -> int:
        """End every live session of a customer (their password changed, a device was lost); how many."""
        s = t.sign_in_sessions
        with self.ctx.engine.begin() as conn:
            done = conn.execute(
                update(s)
                .where(s.c.customer_id == customer_id, s.c.ended_at.is_(None))
                .values(ended_at=self.ctx.clock())
            )
        return int(done.rowcount or 0)
