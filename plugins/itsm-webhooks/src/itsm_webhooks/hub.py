"""Subscriptions, messages and deliveries for one desk: what the hooks, the job handler and the CLI call.

An event becomes one message per subscription that wants it, written with its delivery
job in one transaction. Messages of one demand to one subscription go out in order: only
the oldest open one has a job in the outbox; when it ends (delivered, or failed for good)
the next one is queued in the same transaction that records the end.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import httpx
from itsmcore import ActionResult, InvalidInput, NotFound, PermanentFailure, TemporaryFailure
from sqlalchemy import Connection, Integer, String, Text, bindparam, func, insert, select, update
from standardwebhooks import Webhook

from . import __version__
from . import store as s
from .events import ALL, EVENT_TYPES, payload, unknown_event_problem
from .settings import WebhookSettings, read_settings
from .targets import Refused, Unresolvable, check_url

if TYPE_CHECKING:
    from itsmcore import Desk, Job

#: The job action of a delivery.
DELIVER = "webhooks.deliver"
#: What ``itsm webhook test`` sends.
TEST_EVENT = "webhook.test"
#: Bytes of a receiver's answer kept in the delivery log.
KEPT = 2000
OPEN = ("waiting", "queued")

_M, _S = s.messages.c, s.subscriptions.c
# Built once: a delivery runs these for every message, and building a statement costs more than running it.
_SUBSCRIPTIONS = select(s.subscriptions).order_by(_S.id)
_LOCK = select(_S.id).where(_S.id == bindparam("b_sid")).with_for_update(key_share=True)
_OPEN_OF_DEMAND = (
    select(_M.id, _M.state)
    .where(_M.subscription_id == bindparam("b_sid"), _M.demand_id == bindparam("b_demand"), _M.state.in_(OPEN))
    .order_by(_M.id)
    .limit(1)
)
_INSERT_MESSAGE = insert(s.messages).returning(_M.id)
_LOAD = (
    select(
        _M.id,
        _M.subscription_id,
        _M.demand_id,
        _M.msg_id,
        _M.body,
        _M.state,
        _M.attempts,
        _S.url,
        _S.enabled,
        _S.secret,
        _S.previous_secret,
        _S.previous_until,
    )
    .join(s.subscriptions, _M.subscription_id == _S.id)
    .where(_M.id == bindparam("b_mid"))
)
_ATTEMPTED = (
    update(s.messages)
    .where(_M.id == bindparam("b_mid"))
    .values(
        attempts=_M.attempts + 1,
        last_status=bindparam("b_status", type_=Integer),
        last_error=bindparam("b_error", type_=Text),
    )
    .returning(_M.attempts)
)
_ENDED = (
    update(s.messages)
    .where(_M.id == bindparam("b_mid"))
    .values(state=bindparam("b_state", type_=String), finished_at=bindparam("b_now", type_=s.TS))
)
_QUEUED = (
    update(s.messages)
    .where(_M.id == bindparam("b_mid"))
    .values(job_id=bindparam("b_job", type_=Integer), state="queued")
)
_INSERT_ATTEMPT = insert(s.attempts)


@attrs.frozen(kw_only=True)
class Subscription:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    services: tuple[str, ...]
    kinds: tuple[str, ...]
    enabled: bool
    disabled_reason: str
    source: str
    created_at: datetime
    previous_until: datetime | None

    def wants(self, event_type: str, service: str | None, kind: str | None) -> bool:
        if not self.enabled or (ALL not in self.events and event_type not in self.events):
            return False
        if self.services and service not in self.services:
            return False
        return not self.kinds or kind is None or kind in self.kinds  # kinds filter demands only


@attrs.frozen(kw_only=True)
class Outcome:
    """One attempt's result: the status (None when no answer came), an error, the start of the answer."""

    status: int | None
    error: str
    response: str
    duration_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _sub(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        name=row.name,
        url=row.url,
        events=tuple(row.events),
        services=tuple(row.services),
        kinds=tuple(row.kinds),
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason or "",
        source=row.source,
        created_at=row.created_at,
        previous_until=row.previous_until,
    )


_HUBS: weakref.WeakKeyDictionary[Any, Webhooks] = weakref.WeakKeyDictionary()
_HUBS_LOCK = threading.Lock()


def configured(desk: Desk) -> bool:
    """Whether the deployment has a ``[webhooks]`` table (else the plugin does nothing)."""
    return "webhooks" in desk.config.extra


def for_desk(desk: Desk) -> Webhooks:
    """The desk's webhooks (built once per desk; the tables created on first use)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(desk)
        if hub is None:
            hub = _HUBS[desk] = Webhooks(desk)
        return hub


class Webhooks:
    def __init__(self, desk: Desk):
        self._desk = weakref.proxy(desk)
        self.engine = desk.engine
        self.settings: WebhookSettings = read_settings(desk.config.extra.get("webhooks"), desk.config.path.name)
        self.public_url = desk.config.deployment.public_url
        self._client: httpx.Client | None = None
        s.create(self.engine)
        self.sync_declared()

    @property
    def desk(self) -> Desk:
        return self._desk

    def client(self) -> httpx.Client:
        if self._client is None:
            t = self.settings.timeout
            self._client = httpx.Client(
                follow_redirects=False,
                timeout=httpx.Timeout(t, connect=t),
                headers={"user-agent": f"itsm-webhooks/{__version__}"},
                trust_env=False,
            )
        return self._client

    # ------------------------------------------------------------------ subscriptions

    def sync_declared(self) -> None:
        """Keep ``[webhooks.subscriptions.NAME]`` tables and the store in step (secrets stay in the store)."""
        declared = {d.name: d for d in self.settings.subscriptions}
        now = self.desk.clock()
        with self.engine.begin() as conn:
            rows = {r.name: r for r in conn.execute(select(s.subscriptions))}
            for name, d in declared.items():
                values = {"url": d.url, "events": list(d.events), "services": list(d.services), "kinds": list(d.kinds)}
                row = rows.get(name)
                if row is None:
                    conn.execute(
                        insert(s.subscriptions).values(
                            name=name, secret=new_secret(), source="config", created_at=now, enabled=True, **values
                        )
                    )
                elif row.source == "config" and any(getattr(row, k) != v for k, v in values.items()):
                    conn.execute(update(s.subscriptions).where(s.subscriptions.c.id == row.id).values(**values))
            for name, row in rows.items():
                if row.source == "config" and name not in declared and row.enabled:
                    conn.execute(
                        update(s.subscriptions)
                        .where(s.subscriptions.c.id == row.id)
                        .values(enabled=False, disabled_reason="no longer in the config")
                    )

    def check_target(self, url: str) -> list[str]:
        """The addresses ``url`` resolves to; :class:`~itsmcore.InvalidInput` when it may not be a target."""
        try:
            return check_url(url, self.settings, self.public_url)
        except Refused as e:
            raise InvalidInput(str(e)) from None

    def add(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        *,
        services: Sequence[str] = (),
        kinds: Sequence[str] = (),
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown once: the store keeps it to sign with, nobody reads it back)."""
        if not name or len(name) > 100:
            raise InvalidInput("a subscription needs a name of 1 to 100 characters")
        if not events:
            raise InvalidInput(f"name the events to send (--event); known: {', '.join(EVENT_TYPES)}, or * for all")
        for ev in events:
            if (problem := unknown_event_problem(ev)) is not None:
                raise InvalidInput(f"{problem[0]}; {problem[1]}")
        known = {svc.key for svc in self.desk.services}
        for svc in services:
            if svc not in known:
                raise InvalidInput(f"unknown service {svc!r}; {_close(svc, known)}")
        kinds_known = ("value", "failure", "information")
        for k in kinds:
            if k not in kinds_known:
                raise InvalidInput(f"unknown demand kind {k!r}; {_close(k, kinds_known)}")
        self.check_target(url)
        secret = new_secret()
        with self.engine.begin() as conn:
            if conn.execute(select(s.subscriptions.c.id).where(s.subscriptions.c.name == name)).first():
                raise InvalidInput(f"a subscription named {name!r} exists already")
            conn.execute(
                insert(s.subscriptions).values(
                    name=name,
                    url=url,
                    events=list(dict.fromkeys(events)),
                    services=list(services),
                    kinds=list(kinds),
                    secret=secret,
                    enabled=True,
                    disabled_reason="",
                    source="cli",
                    created_at=self.desk.clock(),
                )
            )
        return self.subscription(name), secret

    def subscriptions(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            return [_sub(r) for r in conn.execute(_SUBSCRIPTIONS)]

    def subscription(self, name: str) -> Subscription:
        with self.engine.connect() as conn:
            row = conn.execute(select(s.subscriptions).where(s.subscriptions.c.name == name)).first()
            if row is None:
                names = list(conn.execute(select(s.subscriptions.c.name)).scalars())
                raise NotFound(f"no subscription {name!r}; {_close(name, names)}")
        return _sub(row)

    def rotate(self, name: str) -> str:
        """A new secret for ``name``; the old one keeps signing too for ``rotation_overlap_hours``."""
        sub = self.subscription(name)
        secret = new_secret()
        until = self.desk.clock() + timedelta(hours=self.settings.rotation_overlap_hours)
        with self.engine.begin() as conn:
            conn.execute(
                update(s.subscriptions)
                .where(s.subscriptions.c.id == sub.id)
                .values(previous_secret=s.subscriptions.c.secret, previous_until=until, secret=secret)
            )
        return secret

    def enable(self, name: str) -> Subscription:
        """Send to ``name`` again (after a 410 Gone disabled it); events from now on, nothing missed is resent."""
        sub = self.subscription(name)
        with self.engine.begin() as conn:
            conn.execute(
                update(s.subscriptions).where(s.subscriptions.c.id == sub.id).values(enabled=True, disabled_reason="")
            )
        return self.subscription(name)

    def _secrets(self, row: Any, now: datetime) -> list[str]:
        out = [row.secret]
        until = row.previous_until
        if row.previous_secret and until is not None:
            if until.tzinfo is None:
                until = until.replace(tzinfo=now.tzinfo)
            if now < until:
                out.append(row.previous_secret)
        return out

    # ------------------------------------------------------------------ events

    def publish(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        demand_id: int | None = None,
        service: str | None = None,
        kind: str | None = None,
    ) -> list[int]:
        """One message per subscription that wants the event; returns the ids of the jobs queued now."""
        subs = [sub for sub in self.subscriptions() if sub.wants(event_type, service, kind)]
        if not subs:
            return []
        now = self.desk.clock()
        body = json.dumps(payload(event_type, now, data), separators=(",", ":"), ensure_ascii=False)
        jobs: list[int] = []
        with self.engine.begin() as conn:
            for sub in subs:
                jobs += self._enqueue(conn, sub.id, demand_id, event_type, body, now)
        self.desk.wake_jobs(jobs)
        return jobs

    def _lock(self, conn: Connection, subscription_id: int) -> None:
        """Serialise the chain bookkeeping of one subscription across processes (PostgreSQL; SQLite has one writer)."""
        conn.execute(_LOCK, {"b_sid": subscription_id})

    def _enqueue(
        self, conn: Connection, sid: int, demand_id: int | None, event_type: str, body: str, now: datetime
    ) -> list[int]:
        behind = False
        if demand_id is not None:
            self._lock(conn, sid)
            behind = conn.execute(_OPEN_OF_DEMAND, {"b_sid": sid, "b_demand": demand_id}).first() is not None
        mid = conn.execute(
            _INSERT_MESSAGE,
            {
                "subscription_id": sid,
                "demand_id": demand_id,
                "event_type": event_type,
                "msg_id": f"msg_{secrets.token_hex(12)}",
                "body": body,
                "state": "waiting" if behind else "queued",
                "attempts": 0,
                "last_error": "",
                "created_at": now,
            },
        ).scalar_one()
        if behind:
            return []
        return [self._queue(conn, mid)]

    def _queue(self, conn: Connection, mid: int, *, again: str = "") -> int:
        key = f"msg:{mid}" + (f":again:{again}" if again else "")
        params: dict[str, Any] = {"message": mid, **({"again": True} if again else {})}
        jid = self.desk.queue_job(DELIVER, key, params, max_attempts=self.settings.max_attempts, conn=conn)
        conn.execute(_QUEUED, {"b_mid": mid, "b_job": jid})
        return jid

    def _next(self, conn: Connection, sid: int, demand_id: int | None) -> list[int]:
        """Queue the oldest waiting message of (subscription, demand) unless one is queued already."""
        if demand_id is None:
            return []
        self._lock(conn, sid)
        rows = conn.execute(_OPEN_OF_DEMAND, {"b_sid": sid, "b_demand": demand_id}).first()
        if rows is None or rows.state == "queued":
            return []
        return [self._queue(conn, rows.id)]

    # ------------------------------------------------------------------ delivering

    def _send(self, url: str, msg_id: str, body: str, keys: Iterable[str], now: datetime) -> Outcome:
        signatures = " ".join(_signer(k).sign(msg_id, now, body.encode("utf-8")) for k in keys)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures,
        }
        start = time.monotonic()
        limit = self.settings.response_limit
        try:
            with self.client().stream("POST", url, content=body.encode("utf-8"), headers=headers) as r:
                got = bytearray()
                for chunk in r.iter_bytes():
                    got += chunk[: limit - len(got)]
                    if len(got) >= limit:
                        break  # the rest is not read: the connection is closed unread
                status = r.status_code
                text = bytes(got[:KEPT]).decode("utf-8", "replace")
                error = ""
                retry_after = _retry_after(r.headers.get("retry-after"))
                if 300 <= status < 400:
                    error = f"redirected ({status}) to {r.headers.get('location', '?')}; redirects are not followed"
                elif status == 410:
                    error = "the receiver answered 410 Gone: the subscription is disabled"
                elif not 200 <= status < 300:
                    error = f"the receiver answered {status}"
        except httpx.TimeoutException:
            return Outcome(
                status=None,
                error=f"no answer within {self.settings.timeout:g}s",
                response="",
                duration_ms=_ms(start),
            )
        except httpx.HTTPError as e:
            return Outcome(
                status=None, error=f"could not post: {type(e).__name__}: {e}", response="", duration_ms=_ms(start)
            )
        return Outcome(status=status, error=error, response=text, duration_ms=_ms(start), retry_after=retry_after)

    def _load(self, conn: Connection, mid: int) -> Any:
        return conn.execute(_LOAD, {"b_mid": mid}).first()

    def deliver(self, job: Job, *, redirect_to: str = "") -> ActionResult:
        """Run one delivery job (the ``webhooks.deliver`` handler): post, log the attempt, end or retry."""
        mid = int(job.params["message"])
        with self.engine.connect() as conn:
            row = self._load(conn, mid)
        if row is None:
            return ActionResult(behind_scenes=f"message {mid} is gone (its subscription was removed)")
        again = bool(job.params.get("again"))
        # a failed message's job runs again only when someone retried it (itsm jobs retry): send it
        if row.state in ("delivered", "cancelled") and not again:
            return ActionResult(behind_scenes=f"message {mid} is {row.state} already")
        if not row.enabled:
            self._finish(row, "cancelled", None)
            return ActionResult(behind_scenes=f"message {mid} not sent: the subscription is disabled")
        now = self.desk.clock()
        try:
            check_url(row.url, self.settings, self.public_url)
        except Unresolvable as e:
            outcome = Outcome(status=None, error=str(e), response="", duration_ms=0)
        except Refused as e:
            outcome = Outcome(status=None, error=f"refused: {e}", response="", duration_ms=0)
            self._finish(row, "failed", outcome, now)
            raise PermanentFailure(outcome.error) from None
        else:
            outcome = self._send(redirect_to or row.url, row.msg_id, row.body, self._secrets(row, now), now)
        if outcome.ok:
            self._finish(row, "delivered", outcome, now)
            return ActionResult(
                behind_scenes=f"delivered {row.msg_id} ({outcome.status})", outputs={"status": outcome.status}
            )
        if outcome.status == 410:
            self._finish(row, "failed", outcome, now, disable=True)
            return ActionResult(behind_scenes=outcome.error, outputs={"status": 410})
        if outcome.status is not None and 300 <= outcome.status < 400:
            self._finish(row, "failed", outcome, now)
            raise PermanentFailure(outcome.error)
        last = job.attempts >= job.max_attempts
        self._finish(row, "failed" if last else None, outcome, now)
        delay = self.settings.retry_delay(job.attempts)
        if outcome.retry_after is not None:
            delay = min(self.settings.retry_cap, max(delay, outcome.retry_after))
        raise TemporaryFailure(outcome.error, retry_after=delay)

    def _finish(
        self,
        row: Any,
        state: str | None,
        outcome: Outcome | None,
        now: datetime | None = None,
        *,
        disable: bool = False,
    ) -> None:
        """Log the attempt and, with ``state``, end the message and queue the next of its demand (one transaction)."""
        now = now or self.desk.clock()
        jobs: list[int] = []
        with self.engine.begin() as conn:
            if outcome is not None:
                n = conn.execute(
                    _ATTEMPTED, {"b_mid": row.id, "b_status": outcome.status, "b_error": outcome.error}
                ).scalar_one()
                conn.execute(
                    _INSERT_ATTEMPT,
                    {
                        "message_id": row.id,
                        "attempt": n,
                        "at": now,
                        "status": outcome.status,
                        "error": outcome.error,
                        "response": outcome.response,
                        "duration_ms": outcome.duration_ms,
                    },
                )
            if state is not None:
                conn.execute(_ENDED, {"b_mid": row.id, "b_state": state, "b_now": now})
                if disable:
                    conn.execute(
                        update(s.subscriptions)
                        .where(s.subscriptions.c.id == row.subscription_id)
                        .values(
                            enabled=False, disabled_reason=f"the receiver answered 410 Gone at {now:%Y-%m-%d %H:%M}"
                        )
                    )
                    conn.execute(
                        update(s.messages)
                        .where(s.messages.c.subscription_id == row.subscription_id, s.messages.c.state.in_(OPEN))
                        .values(state="cancelled", finished_at=now)
                    )
                else:
                    jobs = self._next(conn, row.subscription_id, row.demand_id)
        self.desk.wake_jobs(jobs)

    def job_dead(self, job: Job) -> None:
        """A delivery job died without its handler ending the message (its runner died on the last attempt)."""
        mid = job.params.get("message")
        if not isinstance(mid, int):
            return
        with self.engine.connect() as conn:
            row = self._load(conn, mid)
        if row is not None and row.state in OPEN:
            self._finish(row, "failed", None)

    # ------------------------------------------------------------------ operators

    def test(self, name: str) -> Outcome:
        """Post a ``webhook.test`` message to ``name`` now and log it with its deliveries."""
        sub = self.subscription(name)
        now = self.desk.clock()
        body = json.dumps(
            payload(TEST_EVENT, now, {"subscription": sub.name, "deployment": self.desk.name}), separators=(",", ":")
        )
        with self.engine.begin() as conn:
            mid = conn.execute(
                insert(s.messages)
                .values(
                    subscription_id=sub.id,
                    event_type=TEST_EVENT,
                    msg_id=f"msg_{secrets.token_hex(12)}",
                    body=body,
                    state="queued",
                    attempts=0,
                    last_error="",
                    created_at=now,
                )
                .returning(s.messages.c.id)
            ).scalar_one()
            row = self._load(conn, mid)
        try:
            check_url(sub.url, self.settings, self.public_url)
        except Refused as e:
            outcome = Outcome(status=None, error=f"refused: {e}", response="", duration_ms=0)
        else:
            outcome = self._send(sub.url, row.msg_id, body, self._secrets(row, now), now)
        self._finish(row, "delivered" if outcome.ok else "failed", outcome, now)
        return outcome

    def deliveries(self, name: str, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The subscription's messages, newest first, with their attempts and last answer."""
        sub = self.subscription(name)
        m = s.messages.c
        q = select(s.messages).where(m.subscription_id == sub.id)
        if state:
            q = q.where(m.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(m.id.desc()).limit(limit)).all()
        return [
            {
                "id": r.id,
                "event": r.event_type,
                "demand": r.demand_id,
                "state": r.state,
                "attempts": r.attempts,
                "status": r.last_status,
                "error": r.last_error,
                "job": r.job_id,
                "webhook_id": r.msg_id,
                "created_at": r.created_at.isoformat(timespec="seconds"),
            }
            for r in rows
        ]

    def attempts(self, message_id: int) -> list[dict[str, Any]]:
        a = s.attempts.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.attempts).where(a.message_id == message_id).order_by(a.id)).all()
        return [
            {
                "attempt": r.attempt,
                "at": r.at.isoformat(timespec="seconds"),
                "status": r.status,
                "error": r.error,
                "duration_ms": r.duration_ms,
                "response": r.response[:200],
            }
            for r in rows
        ]

    def redeliver(self, message_ids: Sequence[int]) -> list[int]:
        """Send messages again (same ``webhook-id``: a receiver that has one already can tell); their new job ids."""
        jobs: list[int] = []
        with self.engine.begin() as conn:
            for mid in message_ids:
                row = self._load(conn, mid)
                if row is None:
                    raise NotFound(f"no webhook message {mid}")
                if row.state in OPEN:
                    raise InvalidInput(f"message {mid} is {row.state}: it will be sent anyway")
                jobs.append(self._queue(conn, mid, again=secrets.token_hex(4)))
        self.desk.wake_jobs(jobs)
        return jobs

    def counts(self) -> dict[str, int]:
        """How many messages are in each state (for the bench and the demo)."""
        with self.engine.connect() as conn:
            return {
                r.state: r.n
                for r in conn.execute(select(s.messages.c.state, func.count().label("n")).group_by(s.messages.c.state))
            }


@functools.lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _close(word: str, known: Iterable[str]) -> str:
    import difflib

    known = sorted(set(known))
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    listing = ", ".join(known) or "none"
    return f"did you mean {close[0]!r}? Known: {listing}" if close else f"known: {listing}"


__all__ = ["DELIVER", "Outcome", "Subscription", "Webhooks", "configured", "for_desk"]
