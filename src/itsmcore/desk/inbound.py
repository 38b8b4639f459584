"""Inbound events: what an inbound channel has taken in, kept so a retry or a replay is recognised.

Providers retry a webhook they think failed (a chat platform after 3 seconds, with the same
event id), and a captured request can be sent again. A channel asks :meth:`InboundEvents.seen`
before it acts and calls :meth:`InboundEvents.remember` once it has, so the answer holds after a
restart and on every process sharing the store. Ids are kept for ``KEEP`` (longer than any
provider retries) and deleted as new ones are written.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from ..store import tables as t
from ..store.sql import insert_ignore
from .context import Context

#: How long an event id is remembered.
KEEP = timedelta(days=7)
#: Old ids are deleted on every this many-th remembered event (a cheap, indexed delete).
PRUNE_EVERY = 100


class InboundEvents:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._written = 0

    def seen(self, channel: str, event_id: str) -> bool:
        """Whether ``channel`` took in the event ``event_id`` before (within :data:`KEEP`)."""
        q = select(t.inbound_events.c.received_at).where(
            t.inbound_events.c.channel == channel[:64], t.inbound_events.c.event_id == event_id[:255]
        )
        with self.ctx.engine.connect() as conn:
            return conn.execute(q).first() is not None

    def remember(self, channel: str, event_id: str) -> bool:
        """Keep that ``channel`` took in ``event_id``; ``True`` when it was not known yet."""
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            stmt = (
                insert_ignore(conn, t.inbound_events, ["channel", "event_id"])
                .values(channel=channel[:64], event_id=event_id[:255], received_at=now)
                .returning(t.inbound_events.c.event_id)
            )
            new = conn.execute(stmt).first() is not None
            self._written += 1
            if self._written % PRUNE_EVERY == 1:
                conn.execute(delete(t.inbound_events).where(t.inbound_events.c.received_at < now - KEEP))
        return new
