"""API tokens of integrations: named, scoped, held hashed in the store, rate-limited across processes."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import case, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..config import did_you_mean
from ..errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from ..model import Actor
from ..store import rows
from ..store import tables as t
from .context import Context

log = logging.getLogger("itsmcore.desk")

#: What a token may be allowed to do. ``admin`` allows everything.
SCOPES = ("read", "write", "agent", "admin")
#: How often ``last_used_at`` moves at most: a busy token does not write on every request for it.
LAST_USED_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Names a journey already gives a meaning to: a token named so would pass for someone else.
RESERVED = frozenset(str(a) for a in Actor)


class UnknownScope(InvalidInput):
    """A scope that is none of :data:`SCOPES`; the message says which one was meant."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__(f"unknown scope {scope!r}; {did_you_mean(scope, SCOPES)}")


class RateLimited(TooManyAttempts):
    """An API token made more requests than its limit allows in the current window (HTTP 429, ``Retry-After``)."""

    def __init__(self, name: str, limit: int, window: int, retry_after: float):
        self.retry_after = max(0.0, float(retry_after))
        self.name = name
        Exception.__init__(
            self,
            f"API token {name!r} made more than {limit} requests in {window} s; "
            f"try again in {max(1, round(self.retry_after))} s",
        )


@attrs.frozen(kw_only=True)
class ApiToken:
    """An integration's API token as the desk knows it (never the secret)."""

    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """Whether the token may do what ``scope`` covers (``admin`` covers everything)."""
        return scope in self.scopes or "admin" in self.scopes

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes, known and each once, in :data:`SCOPES` order; :class:`UnknownScope` for any other."""
    given = [str(s).strip().lower() for s in scopes]
    for s in given:
        if s not in SCOPES:
            raise UnknownScope(s)
    if not given:
        raise InvalidInput(f"give a token at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in given)


class ApiTokens:
    """Issuing, listing, revoking and checking API tokens; what is shared lives in the store.

    A token is shown once, when made; the store keeps its SHA-256, so neither a copy of
    the database nor a log can be turned into a token. Every check reads the store, so a
    revoked token is refused by every process at once.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @staticmethod
    def _hash(secret: str) -> str:
        return hashlib.sha256(b"itsm.api-token:" + secret.encode()).hexdigest()

    @staticmethod
    def _token(row: Any) -> ApiToken:
        return ApiToken(
            name=row.name,
            scopes=tuple(row.scopes.split()),
            created_at=rows.aware(row.created_at) or row.created_at,
            last_used_at=rows.aware(row.last_used_at),
            revoked_at=rows.aware(row.revoked_at),
        )

    def new(self, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
        """A new token for the integration ``name``: the record and the secret (shown once, kept nowhere).

        ``Conflict`` when a live token has the name already (revoke it first to replace it);
        the name of a revoked token may be given to a new one. ``InvalidInput`` for a name
        that is not 1-64 letters, digits, ``.``, ``_`` or ``-``, or one a journey uses for
        someone else (customer, agent, system); :class:`UnknownScope` for a scope not in
        :data:`SCOPES`.
        """
        name = name.strip() if isinstance(name, str) else ""
        if not _NAME.match(name):
            raise InvalidInput(
                f"a token's name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got {name!r}"
            )
        if name.casefold() in RESERVED:
            raise InvalidInput(f"{name!r} names someone else in a journey; name the integration (e.g. 'monitoring')")
        chosen = check_scopes(scopes)
        secret = "itsm_" + secrets.token_urlsafe(32)
        now = self.ctx.clock()
        a = t.api_tokens
        try:
            with self.ctx.engine.begin() as conn:
                conn.execute(delete(a).where(a.c.name == name, a.c.revoked_at.is_not(None)))
                conn.execute(
                    insert(a).values(
                        name=name,
                        hash=self._hash(secret),
                        scopes=" ".join(chosen),
                        created_at=now,
                        rate_window=0,
                        rate_hits=0,
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"an API token named {name!r} exists already; revoke it first ('itsm api-token revoke {name}') "
                "or choose another name"
            ) from None
        log.info("API token %r made with scopes %s", name, ", ".join(chosen))
        return ApiToken(name=name, scopes=chosen, created_at=now), secret

    def listing(self, *, revoked: bool = True) -> list[ApiToken]:
        """Every token by name (the revoked ones too unless ``revoked=False``)."""
        a = t.api_tokens
        query = select(a).order_by(a.c.name)
        if not revoked:
            query = query.where(a.c.revoked_at.is_(None))
        with self.ctx.engine.connect() as conn:
            return [self._token(r) for r in conn.execute(query)]

    def revoke(self, name: str) -> ApiToken:
        """Revoke the live token ``name``: refused at once by every process. ``NotFound`` (with a close match) else."""
        a = t.api_tokens
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            done = conn.execute(update(a).where(a.c.name == name, a.c.revoked_at.is_(None)).values(revoked_at=now))
            row = conn.execute(select(a).where(a.c.name == name)).first()
            live = (
                [] if done.rowcount else conn.execute(select(a.c.name).where(a.c.revoked_at.is_(None))).scalars().all()
            )
        if row is None:
            raise NotFound(f"no live API token named {name!r}; {did_you_mean(name, live)}")
        if not done.rowcount:
            raise NotFound(f"API token {name!r} is revoked already")
        log.info("API token %r revoked", name)
        return self._token(row)

    def check(self, secret: object, *, limit: int = 0, window: int = 60) -> ApiToken | None:
        """The live token this secret is, else ``None`` (unknown, revoked, not a token).

        With ``limit`` > 0, counts the request in the token's fixed window of ``window``
        seconds, in the store (every process shares the count), and raises
        :class:`RateLimited` with the seconds to wait once the window holds more than
        ``limit``. ``last_used_at`` moves at most once a minute; counting and the move
        are one statement.
        """
        if not isinstance(secret, str) or not secret or len(secret) > 200:
            return None
        a = t.api_tokens
        now = self.ctx.clock()
        stale = or_(a.c.last_used_at.is_(None), a.c.last_used_at < now - LAST_USED_EVERY)
        mine = (a.c.hash == self._hash(secret), a.c.revoked_at.is_(None))
        window = max(1, int(window))
        with self.ctx.engine.begin() as conn:
            if limit > 0:
                current = int(now.timestamp()) // window
                row = conn.execute(
                    update(a)
                    .where(*mine)
                    .values(
                        rate_hits=case((a.c.rate_window == current, a.c.rate_hits + 1), else_=1),
                        rate_window=current,
                        last_used_at=case((stale, now), else_=a.c.last_used_at),
                    )
                    .returning(a)
                ).first()
            else:
                row = conn.execute(select(a).where(*mine)).first()
                used = rows.aware(row.last_used_at) if row is not None else now
                if row is not None and (used is None or used < now - LAST_USED_EVERY):
                    conn.execute(update(a).where(*mine, stale).values(last_used_at=now))
        if row is None:
            return None
        if limit > 0 and row.rate_hits > limit:
            wait = (current + 1) * window - now.timestamp()
            log.info("API token %r over its rate limit (%d in %d s); retry in %d s", row.name, limit, window, wait)
            raise RateLimited(row.name, limit, window, wait)
        return self._token(row)
