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
from sqlalchemy import Connection, and_, case, exists, func, select
from sqlalchemy.orm import aliased

from ..model import Actor
from .query import D, E, Scope, and_all

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


def failure_demand(conn: Connection, scope: Scope) -> FailureDemand:
    where = and_all(scope.demand_filter())
    prev = aliased(D)
    repeat = exists().where(
        prev.c.customer_id == D.c.customer_id,
        prev.c.service_key == D.c.service_key,
        prev.c.id < D.c.id,
        prev.c.created_at >= D.c.created_at - REPEAT_WINDOW,
    )
    category = case(
        (D.c.cause == "announced_outage", "outage_contact"),
        (D.c.cause == "affects_me", "affects_me"),
        (D.c.cause == "not_fixed", "not_fixed"),
        (D.c.cause == "chase", "chase"),
        (D.c.cause == "cant_find", "cant_find"),
        (and_(D.c.service_key.is_not(None), repeat), "repeat"),
        (D.c.kind == "failure", "incident"),
        (D.c.kind == "information", "query"),
        else_="request",
    ).label("category")
    counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for r in conn.execute(select(category, func.count()).where(where).group_by(category)):
        counts[r[0]] += int(r[1])
    comment_filter = [E.c.kind == "comment", E.c.actor == str(Actor.CUSTOMER)]
    if scope.since is not None:
        comment_filter.append(E.c.at >= scope.since)
    if scope.until is not None:
        comment_filter.append(E.c.at < scope.until)
    if scope.service:
        comment_filter.append(D.c.service_key == scope.service)
    if scope.kind:
        comment_filter.append(D.c.kind == scope.kind)
    chases = conn.execute(
        select(func.count()).select_from(E.join(D, D.c.id == E.c.demand_id)).where(*comment_filter)
    ).scalar_one()
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
