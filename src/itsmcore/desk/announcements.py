"""Announcements as records: reading them, who is affected, the ledger, and confirm links.

The flows that change them (open, update, resolve, "this affects me", the fan-out and
the follow-up) are in :mod:`itsmcore.desk.outages`, above intake; this module is below
it, so intake can link a new incident to an open announcement without a cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import Connection, func, insert, select, update

from ..errors import NotFound
from ..links import sign
from ..model import Announcement, AnnouncementState, ChangeState
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers

ANN = t.announcements
AUD = t.announcement_customers
SUB = t.subscriptions


@attrs.frozen(kw_only=True)
class Ledger:
    """Where every customer of an announcement stands, for the service desk."""

    announcement: Announcement
    subscribers: int
    notified: int
    affected: int
    confirmed_fixed: int
    still_broken: int
    no_answer: int
    followed_up: int
    unreachable: int


class Book:
    """Reads announcements and keeps their affected lists."""

    def __init__(self, ctx: Context, customers: Customers):
        self.ctx = ctx
        self.customers = customers

    def get(self, announcement_id: int) -> Announcement:
        with self.ctx.engine.connect() as conn:
            r = conn.execute(select(ANN).where(ANN.c.id == announcement_id)).first()
        if r is None:
            raise NotFound(f"unknown announcement {announcement_id}")
        return rows.announcement(r)

    def listing(self, *, open_only: bool = False, service: str | None = None) -> list[Announcement]:
        q = select(ANN).order_by(ANN.c.id.desc())
        if open_only:
            q = q.where(ANN.c.state == "open")
        if service:
            q = q.where(ANN.c.service_key == service)
        with self.ctx.engine.connect() as conn:
            return [rows.announcement(r) for r in conn.execute(q)]

    def open_for_service(self, service_key: str, *, at: datetime | None = None) -> Announcement | None:
        """The newest open announcement on the service; with ``at``, the newest that explains a failure then.

        Planned work is announced ahead of its window (``[changes] notice_hours``): until the
        window starts (or the work is started early) its announcement is a notice, and a
        customer's report of a failure is not the planned work, nor fixed when it ends.
        """
        found = self.listing(open_only=True, service=service_key)
        if at is None:
            return found[0] if found else None
        return next((a for a in found if a.source != "change" or self._work_begun(a.id, at)), None)

    def _work_begun(self, announcement_id: int, at: datetime) -> bool:
        """Whether the planned work an announcement is about has begun by ``at`` (when no change names
        it any more, it is taken as begun: an open announcement of work no change holds is the agents')."""
        ch = t.planned_changes
        with self.ctx.engine.connect() as conn:
            changes = conn.execute(
                select(ch.c.state, ch.c.window_start, ch.c.announcements).where(
                    ch.c.state.in_((str(ChangeState.APPROVED), str(ChangeState.IN_PROGRESS)))
                )
            ).all()
        for state, start, announced in changes:
            if announcement_id in (announced or ()):
                begins = rows.aware(start)
                return state == ChangeState.IN_PROGRESS or (begins is not None and begins <= at)
        return True

    def for_customer(self, customer: str) -> list[Announcement]:
        """Open announcements about the services this customer subscribes to or uses (their CIs)."""
        cust = self.customers.get(customer)
        mine = {ci.attributes.get("service") for ci in self.customers.configuration_items(cust.id)}
        with self.ctx.engine.connect() as conn:
            mine |= set(
                conn.execute(
                    select(SUB.c.service_key).where(SUB.c.customer_id == cust.id, SUB.c.active.is_(True))
                ).scalars()
            )
            mine |= set(
                conn.execute(
                    select(t.demands.c.service_key)
                    .where(t.demands.c.customer_id == cust.id, t.demands.c.service_key.is_not(None))
                    .distinct()
                ).scalars()
            )
        return [a for a in self.listing(open_only=True) if a.service_key in mine]

    def mark_affected(self, conn: Connection, announcement_id: int, customer_id: str, now: datetime) -> None:
        """Put the customer on the affected list (in the caller's transaction: intake's)."""
        done = conn.execute(
            update(AUD)
            .where(AUD.c.announcement_id == announcement_id, AUD.c.customer_id == customer_id)
            .values(affected=True, affected_at=now)
        )
        if done.rowcount == 0:
            conn.execute(
                insert(AUD).values(
                    announcement_id=announcement_id,
                    customer_id=customer_id,
                    subscriber=False,
                    affected=True,
                    affected_at=now,
                )
            )

    def is_affected(self, announcement_id: int, customer_id: str) -> bool:
        with self.ctx.engine.connect() as conn:
            return bool(
                conn.execute(
                    select(AUD.c.affected).where(
                        AUD.c.announcement_id == announcement_id, AUD.c.customer_id == customer_id
                    )
                ).scalar()
            )

    def linked_demand(self, announcement_id: int, customer_id: str) -> int | None:
        """The customer's first incident linked to the announcement."""
        with self.ctx.engine.connect() as conn:
            return conn.execute(
                select(t.demands.c.id)
                .where(t.demands.c.announcement_id == announcement_id, t.demands.c.customer_id == customer_id)
                .order_by(t.demands.c.id)
                .limit(1)
            ).scalar()

    def confirm_link(self, announcement_id: int, customer_id: str) -> str:
        """A signed link by which the customer says whether the fix works for them."""
        ttl = timedelta(days=self.ctx.config.announcements.confirm_link_days)
        token = sign(self.ctx.secret(), "announcement", announcement_id, customer_id, self.ctx.clock(), ttl)
        return f"{self.ctx.config.deployment.public_url.rstrip('/')}/confirm/{token}"

    def ledger(self, announcement_id: int) -> Ledger:
        """Notified, affected, confirmed fixed, still broken, no answer: the service desk's view."""
        ann = self.get(announcement_id)
        with self.ctx.engine.connect() as conn:

            def count(*conds: Any) -> int:
                return conn.execute(
                    select(func.count()).select_from(AUD).where(AUD.c.announcement_id == announcement_id, *conds)
                ).scalar_one()

            sent = t.messages.join(t.jobs, t.messages.c.job_id == t.jobs.c.id)
            notified = conn.execute(
                select(func.count(func.distinct(t.messages.c.customer_id)))
                .select_from(sent)
                .where(t.jobs.c.announcement_id == announcement_id)
            ).scalar_one()
            unreachable = conn.execute(
                select(func.count(func.distinct(t.messages.c.customer_id)))
                .select_from(sent)
                .where(t.jobs.c.announcement_id == announcement_id, t.messages.c.fallback.is_(True))
            ).scalar_one()
            return Ledger(
                announcement=ann,
                subscribers=count(AUD.c.subscriber.is_(True)),
                notified=notified,
                affected=count(AUD.c.affected.is_(True)),
                confirmed_fixed=count(AUD.c.affected.is_(True), AUD.c.response == "fixed"),
                still_broken=count(AUD.c.affected.is_(True), AUD.c.response == "still_broken"),
                no_answer=count(AUD.c.affected.is_(True), AUD.c.response.is_(None))
                if ann.state == AnnouncementState.RESOLVED
                else 0,
                followed_up=count(AUD.c.followed_up_at.is_not(None)),
                unreachable=unreachable,
            )
