"""Reviews by service: what customers told colleagues, counted beside what they told IT (the surveys).

Counted in the database: one row per service, however many reviews.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import Connection, and_, case, func, literal, select

from ..store import tables as t
from .query import Scope

V = t.reviews


@attrs.frozen(kw_only=True)
class ReviewRow:
    """One service's visible reviews: their average rating and count; ``hidden`` counts those the desk hid."""

    service_key: str
    average: float | None
    count: int
    hidden: int


def review_rows(conn: Connection, scope: Scope) -> list[ReviewRow]:
    """Per service, the average rating and count of visible reviews written in the scope, most reviewed first."""
    visible = V.c.hidden.is_(False)
    q = (
        select(
            V.c.service_key,
            func.sum(case((visible, 1), else_=0)).label("n"),
            func.avg(case((visible, V.c.rating), else_=None)).label("avg"),
            func.sum(case((visible, 0), else_=1)).label("hidden"),
        )
        # reviews are of value demands only: a scope of another kind has none
        .where(and_(True, *scope.filters(V.c.at, V.c.service_key, literal("value"))))
        .group_by(V.c.service_key)
    )
    out = [
        ReviewRow(
            service_key=r.service_key,
            average=float(r.avg) if r.avg is not None else None,
            count=int(r.n or 0),
            hidden=int(r.hidden or 0),
        )
        for r in conn.execute(q)
    ]
    return sorted(out, key=lambda r: (-r.count, r.service_key))


def as_dicts(rows: list[ReviewRow]) -> list[dict[str, Any]]:
    return [{"service": r.service_key, "average": r.average, "count": r.count, "hidden": r.hidden} for r in rows]
