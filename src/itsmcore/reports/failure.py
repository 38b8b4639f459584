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
from .query import Scope, and_all

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


def category_of(cause: Any, kind: Any, service_key: Any, since_last: Any) -> ColumnElement[str]:
    """A journey's category from its cause, kind, service and the seconds since the same customer's
    previous journey about the same service (NULL for the first); the rollup keeps it per journey."""
    return case(
        (cause == "announced_outage", "outage_contact"),
        (cause == "affects_me", "affects_me"),
        (cause == "not_fixed", "not_fixed"),
        (cause == "chase", "chase"),
        (cause == "cant_find", "cant_find"),
        (and_(service_key.is_not(None), since_last <= REPEAT_WINDOW.total_seconds()), "repeat"),
        (kind == "failure", "incident"),
        (kind == "information", "query"),
        else_="request",
    )


def categorised(conn: Connection) -> tuple[Any, ColumnElement[str]]:
    """Every journey's contact with its category: the per-demand rollup's columns and its category column.

    Each journey was set beside the same customer's previous one about the same service
    when the rollup was refreshed (see :func:`category_of`); previous ones may lie before
    the period, so the caller filters on ``created_at``.
    """
    T = t.journey_totals
    return T.c, T.c.category.label("category")


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
