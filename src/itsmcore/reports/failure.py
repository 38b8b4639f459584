"""Failure demand: the contacts IT caused by not doing something, or not doing it right.

A contact is a demand taken in, or a customer's comment on one they are waiting for
(a chase). Each is put in one category, in the database, from what the desk recorded
when it was taken in: its kind, its cause and whether the same customer contacted us
about the same service shortly before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from ..store import tables as t
from .journeys import day_filter, day_source
from .query import Scope, and_all, epoch

#: How soon a second contact about the same service counts as a repeat.
REPEAT_WINDOW = timedelta(days=7)

#: Category -> (is failure demand, plain description).
CATEGORIES: dict[str, tuple[bool, str]] = {
    "request": (False, "requests for something new (value demand)"),
    "query": (False, "questions the catalog and knowledge could not answer beforehand"),
    "incident": (True, "something broke"),
    "outage_contact": (True, "contacts about an outage we had already announced"),
    "affects_me": (True, '"This affects me" on an announcement (absorbed, no call)'),
    "not_fixed": (True, "it was said to be fixed, and was not"),
    "chase": (True, "chasing a request or problem we had not finished"),
    "cant_find": (True, "could not find it themselves: answered from knowledge or the catalog"),
    "repeat": (True, "a second contact about the same service within a week"),
}


@attrs.frozen(kw_only=True)
class FailureDemand:
    scope: Scope
    contacts: int
    by_category: dict[str, int]

    @property
    def failure(self) -> int:
        return sum(n for c, n in self.by_category.items() if CATEGORIES[c][0])

    @property
    def share(self) -> float:
        return self.failure / self.contacts if self.contacts else 0.0

    @property
    def absorbed(self) -> int:
        """Outage contacts that came as a click on the announcement rather than a call or a mail."""
        return self.by_category.get("affects_me", 0)

    @property
    def empty(self) -> bool:
        return self.contacts == 0


def categorised(conn: Connection) -> tuple[Any, ColumnElement[str]]:
    """Every journey's contact with its category: a subquery of the per-demand rollup and the category column.

    Each journey is set beside the same customer's previous one about the same service
    (in the order of its index: no sort, no self-join); previous ones may lie before the
    period, so the caller filters on the subquery's ``created_at``.
    """
    T = t.journey_totals
    created = epoch(conn, T.c.created_at)
    paired = select(
        T.c.demand_id,
        T.c.kind,
        T.c.cause,
        T.c.service_key,
        T.c.created_at,
        (
            created
            - func.lag(created).over(
                partition_by=(T.c.customer_id, T.c.service_key), order_by=(T.c.created_at, T.c.demand_id)
            )
        ).label("since_last"),
    ).subquery()
    p = paired.c
    category = case(
        (p.cause == "announced_outage", "outage_contact"),
        (p.cause == "affects_me", "affects_me"),
        (p.cause == "not_fixed", "not_fixed"),
        (p.cause == "chase", "chase"),
        (p.cause == "cant_find", "cant_find"),
        (and_(p.service_key.is_not(None), p.since_last <= REPEAT_WINDOW.total_seconds()), "repeat"),
        (p.kind == "failure", "incident"),
        (p.kind == "information", "query"),
        else_="request",
    ).label("category")
    return p, category


def failure_demand(conn: Connection, scope: Scope) -> FailureDemand:
    p, category = categorised(conn)
    outer = scope.filters(p.created_at, p.service_key, p.kind)
    counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for r in conn.execute(select(category, func.count()).where(and_all(outer)).group_by(category)):
        counts[r[0]] += int(r[1])
    # customers' comments on demands they wait for, from the journey rollup (dated by their demand)
    source, cols = day_source(scope)
    chases = conn.execute(select(func.coalesce(cols["comments"], 0)).where(*day_filter(scope, source))).scalar_one()
    counts["chase"] += int(chases)
    return FailureDemand(scope=scope, contacts=sum(counts.values()), by_category=counts)


def as_dicts(fd: FailureDemand) -> list[dict[str, Any]]:
    return [
        {
            "id": cat,
            "failure_demand": CATEGORIES[cat][0],
            "contacts": n,
            "share": n / fd.contacts if fd.contacts else 0.0,
            "means": CATEGORIES[cat][1],
        }
        for cat, n in fd.by_category.items()
    ]
