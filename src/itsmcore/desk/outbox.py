"""The outbox: the only writer of job rows. One shape for every job, one idempotency rule.

A job is written in the transaction of the change that causes it, so work is never
lost; its ``key`` makes queueing idempotent (a step finished twice queues its successor
once). After the commit the runner is woken with the new ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, literal

from ..model import Link, Service
from ..store import tables as t
from ..store.sql import insert_ignore
from .context import Context

#: Attempts before a job is dead (it then waits for ``itsm jobs retry``).
MAX_ATTEMPTS = 5

_INSERT_JOBS = t.jobs.insert()
_INSERT_JOBS_IDS = t.jobs.insert().returning(t.jobs.c.id, sort_by_parameter_order=True)


def job_row(
    *,
    action: str,
    key: str,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    demand_id: int | None = None,
    customer_id: str | None = None,
    announcement_id: int | None = None,
    step: int = -1,
    run_after: datetime | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict[str, Any]:
    """A new job's row: pending, no attempts yet, due at ``run_after`` (default now)."""
    return {
        "demand_id": demand_id,
        "customer_id": customer_id,
        "announcement_id": announcement_id,
        "action": action,
        "step": step,
        "params": dict(params or {}),
        "key": key,
        "state": "pending",
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or now,
        "created_at": now,
    }


def pending_columns(now: datetime) -> dict[str, Any]:
    """The columns a new job starts with, as SQL literals, for ``INSERT ... SELECT`` of many jobs at once."""
    return {
        "state": literal("pending", String),
        "attempts": literal(0, Integer),
        "max_attempts": literal(MAX_ATTEMPTS, Integer),
        "run_after": literal(now, t.TS),
        "created_at": literal(now, t.TS),
    }


class Outbox:
    """Queues jobs in the caller's transaction and wakes the runner after commit."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def step_row(self, demand_id: int, svc: Service, step: int, now: datetime) -> dict[str, Any]:
        """Step ``step`` of the service's plan for a demand."""
        ps = svc.plan[step]
        return job_row(
            action=ps.action,
            key=f"{self.ctx.key_prefix}:demand:{demand_id}:step:{step}:{ps.action}",
            now=now,
            params=ps.params,
            demand_id=demand_id,
            step=step,
        )

    def notify_row(
        self,
        demand_id: int | None,
        *,
        purpose: str,
        subject: str,
        body: str,
        now: datetime,
        customer_id: str | None = None,
        links: Iterable[Link] = (),
        channel: str | None = None,
        via: str | None = None,
        key: str | None = None,
        confirm_announcement: int | None = None,
        survey: bool = False,
        say: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message to the demand's customer (or ``customer_id``), sent by a ``notify`` job.

        ``via`` is the channel the demand came by: the message goes back that way when that
        channel can send to the customer, else by ``channel`` or their preferences. ``say``
        keeps ``subject`` and ``text`` as :class:`~itsmcore.i18n.Say` messages, rendered in the
        customer's language when it goes out.
        """
        return job_row(
            action="notify",
            key=key or f"{self.ctx.key_prefix}:notify:{demand_id}:{purpose}:{secrets.token_hex(8)}",
            now=now,
            params=notify_params(
                purpose=purpose,
                subject=subject,
                text=body,
                links=links,
                channel=channel,
                via=via,
                confirm=confirm_announcement is not None,
                survey=survey,
                say=say,
            ),
            demand_id=demand_id,
            customer_id=customer_id,
            announcement_id=confirm_announcement,
        )

    def add(self, conn: Connection, row: Mapping[str, Any]) -> int:
        """Queue one job unless one with its key exists; its id, or 0 when the key was taken."""
        stmt = insert_ignore(conn, t.jobs, ["key"]).returning(t.jobs.c.id)
        return int(conn.execute(stmt, dict(row)).scalar() or 0)

    def add_many(self, conn: Connection, jobs: Sequence[Mapping[str, Any]], *, ids: bool = True) -> list[int]:
        """Queue new jobs whose keys are fresh (a new demand's); ids only when ``ids`` (the runner is woken)."""
        if not ids:
            conn.execute(_INSERT_JOBS, [dict(j) for j in jobs])
            return []
        return list(conn.execute(_INSERT_JOBS_IDS, [dict(j) for j in jobs]).scalars())

    def notify(self, conn: Connection, demand_id: int | None, **kwargs: Any) -> int:
        """Queue a message (see :meth:`notify_row`); its job id, or 0 if its key was queued already."""
        return self.add(conn, self.notify_row(demand_id, **kwargs))

    def wake(self, job_ids: Sequence[int]) -> None:
        self.ctx.wake(job_ids)


def notify_params(
    *,
    purpose: str,
    subject: str,
    text: str,
    links: Iterable[Link] | Sequence[Mapping[str, str]] = (),
    channel: str | None = None,
    via: str | None = None,
    confirm: bool = False,
    survey: bool = False,
    say: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a ``notify`` job carries: the message, its links, and which signed links to add when sending."""
    return {
        "purpose": purpose,
        "subject": subject,
        "text": text,
        "links": [x if isinstance(x, Mapping) else {"title": x.title, "url": x.url} for x in links],
        "channel": channel or "",
        **({"via": via} if via else {}),
        "confirm": confirm,
        "survey": survey,
        **({"say": dict(say)} if say else {}),
    }
