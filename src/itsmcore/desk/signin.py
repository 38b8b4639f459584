"""Signing in: the directory's password check, guarded by limits shared by every process."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from sqlalchemy import delete, insert, select, text

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
        database so that every process sharing it sees the same count: while the login
        (case-folded), or ``address`` (the client's network address, when known), has had
        too many failures within the window, raises :class:`~itsmcore.errors.TooManyAttempts`
        without asking the directory. A wrong password, an unknown login and an empty
        password all count alike, and all return ``None``: nothing says which it was.
        Success clears the login's failures. ``attempts`` and ``window`` override the
        deployment's per-login limit for this call (a channel with a rule of its own).
        """
        rules = self.ctx.config.security
        limit = attempts if attempts is not None else rules.sign_in_attempts
        span = window if window is not None else timedelta(minutes=rules.sign_in_window_minutes)
        key = self.key(login)
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
                conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key == key))
        return customer

    def unlock(self, login: str) -> int:
        """Forget a login's failed sign-ins, so the customer may try again now; returns how many were forgotten.

        What the service desk does for a customer locked out by the ``[security]`` limit
        (``itsm customer unlock LOGIN``), on every process at once since the count is shared.
        The login is matched as :meth:`authenticate` counts it (case-folded).
        """
        with self.ctx.engine.begin() as conn:
            res = conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.login_key == self.key(login)))
        log.info("sign-in failures of a login forgotten by hand (%d)", res.rowcount)
        return int(res.rowcount or 0)

    def key(self, login: str) -> str:
        """The login as counted: a keyed hash of its case-folded form, never the login itself."""
        typed = login.strip().casefold().encode()
        return hmac.new(self.ctx.secret(), b"sign-in\0" + typed, hashlib.sha256).hexdigest()

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
                log.warning(
                    "sign-in refused without checking the password: too many failures (address %s); retry in %ds",
                    address or "unknown",
                    int(wait) + 1,
                )
                raise TooManyAttempts(wait)  # rolls the attempt back: a refusal is not counted
        return row_id
