"""Who subscribes to a service: chosen by the customer, named in the config, derived from the CMDB or a fulfilment.

One write path for all of them: a customer's own choice overwrites; a derived
subscription only adds a row that is not there, so it never undoes an unsubscribe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, select, update

from ..store import tables as t
from ..store.sql import insert_ignore
from .context import Context
from .customers import Customers
from .services import Catalog

SUB = t.subscriptions


class Subscriptions:
    def __init__(self, ctx: Context, customers: Customers, catalog: Catalog):
        self.ctx = ctx
        self.customers = customers
        self.catalog = catalog

    def put(
        self,
        conn: Connection,
        service_key: str,
        sources: Mapping[str, str],
        now: datetime,
        *,
        active: bool = True,
        choice: bool = False,
    ) -> int:
        """Subscribe (or, ``active=False``, unsubscribe) customers ``{customer_id: source}``; how many rows were added.

        With ``choice`` it is the customer's own say and overwrites what is there; else
        existing rows (an earlier choice among them) are left as they are. Two processes
        adding the same row at once add it once.
        """
        if choice:
            for cid, source in sources.items():
                values = {"active": active} if not active else {"active": True, "source": source}
                conn.execute(
                    update(SUB).where(SUB.c.service_key == service_key, SUB.c.customer_id == cid).values(**values)
                )
        rows = [
            {"service_key": service_key, "customer_id": cid, "source": source, "active": active, "since": now}
            for cid, source in sources.items()
        ]
        if not rows:
            return 0
        done = conn.execute(insert_ignore(conn, SUB, ["service_key", "customer_id"]), rows)
        return max(0, done.rowcount or 0)

    def subscribe(self, customer_id: str, service_key: str, source: str = "explicit") -> None:
        self.customers.get(customer_id)
        self.catalog.get(service_key)
        with self.ctx.engine.begin() as conn:
            self.put(conn, service_key, {customer_id: source}, self.ctx.clock(), choice=True)

    def unsubscribe(self, customer_id: str, service_key: str) -> None:
        # the choice is remembered as a row, so CMDB derivation does not add them back
        with self.ctx.engine.begin() as conn:
            self.put(conn, service_key, {customer_id: "explicit"}, self.ctx.clock(), active=False, choice=True)

    def sync_derived(self, service_key: str) -> int:
        """Subscribe customers the CMDB says use the service, and the config's named subscribers."""
        svc = self.catalog.get(service_key)
        wanted: dict[str, str] = dict.fromkeys(svc.subscribers, "config")
        for c in self.customers.all():
            for ci in self.customers.configuration_items(c.id):
                if ci.attributes.get("service") == service_key:
                    wanted.setdefault(c.id, "cmdb")
        if not wanted:
            return 0
        with self.ctx.engine.begin() as conn:
            have = set(conn.execute(select(SUB.c.customer_id).where(SUB.c.service_key == service_key)).scalars())
            fresh = {cid: src for cid, src in wanted.items() if cid not in have}
            self.put(conn, service_key, fresh, self.ctx.clock())
        return len(fresh)

    def subscribers(self, service_key: str) -> list[str]:
        with self.ctx.engine.connect() as conn:
            return list(
                conn.execute(
                    select(SUB.c.customer_id)
                    .where(SUB.c.service_key == service_key, SUB.c.active.is_(True))
                    .order_by(SUB.c.customer_id)
                ).scalars()
            )

    def of_customer(self, customer_id: str) -> list[str]:
        self.customers.get(customer_id)  # UnknownCustomer: 404
        with self.ctx.engine.connect() as conn:
            return list(
                conn.execute(
                    select(SUB.c.service_key)
                    .where(SUB.c.customer_id == customer_id, SUB.c.active.is_(True))
                    .order_by(SUB.c.service_key)
                ).scalars()
            )
