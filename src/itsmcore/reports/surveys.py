"""Survey results by service, kind, channel, persona and period, each with its sample size and interval.

The database counts answers per group and score (at most eleven rows per group);
each survey method turns its histogram into its headline figure and 95 % interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from sqlalchemy import Connection, and_, func, literal, select

from ..components import SurveyMethod, SurveyScore
from .query import D, R, Scope, epoch, month

#: The dimensions a survey report can be cut by.
DIMENSIONS = ("overall", "service", "kind", "channel", "role", "department", "period", "mode")


@attrs.frozen(kw_only=True)
class SurveyRow:
    method: str
    dimension: str
    group: str
    score: SurveyScore


@attrs.frozen(kw_only=True)
class Detractor:
    """A low score with the customer's words and the journey behind it."""

    method: str
    score: int
    customer_id: str
    comment: str
    demand_id: int | None
    service_key: str | None
    outcome_seconds: float | None
    journey: tuple[tuple[str, str], ...]  # (stage, what the customer saw)


def _scope_filter(scope: Scope) -> list[Any]:
    return scope.filters(R.c.at, R.c.service_key, D.c.kind)


def survey_rows(
    conn: Connection,
    scope: Scope,
    methods: Mapping[str, SurveyMethod],
    dimensions: tuple[str, ...] = DIMENSIONS,
) -> list[SurveyRow]:
    """Each method's score overall and per group of each dimension."""
    columns: dict[str, Any] = {
        "overall": literal("all"),
        "service": func.coalesce(R.c.service_key, "(none)"),
        "kind": func.coalesce(D.c.kind, "(tracker)"),
        "channel": func.coalesce(func.nullif(R.c.channel, ""), D.c.channel, "(unknown)"),
        "role": func.coalesce(D.c.customer_role, "(unknown)"),
        "department": func.coalesce(D.c.customer_department, "(unknown)"),
        "period": month(conn, R.c.at),
        "mode": R.c.mode,
    }
    # one pass: answers counted per combination of every dimension and score (a few thousand
    # groups however many answers), then each dimension's histogram is summed from those
    wanted = [d for d in dimensions if d != "overall"]
    # the demand behind each answer only when a cut needs it (a lookup per answer otherwise saved)
    joined = bool(scope.kind) or any(d in ("kind", "role", "department") for d in wanted)
    if not joined:
        columns["channel"] = func.coalesce(func.nullif(R.c.channel, ""), "(unknown)")
    q = (
        select(R.c.method, R.c.score, *[columns[d].label(d) for d in wanted], func.count().label("n"))
        .select_from(R.outerjoin(D, D.c.id == R.c.demand_id) if joined else R)
        .where(and_(True, *_scope_filter(scope)))
        .group_by(R.c.method, R.c.score, *[columns[d] for d in wanted])
    )
    hist: dict[tuple[str, str, str], dict[int, int]] = {}
    for r in conn.execute(q):
        groups = [("overall", "all")] if "overall" in dimensions else []
        groups += [(d, str(getattr(r, d))) for d in wanted]
        for dim, group in groups:
            counts = hist.setdefault((r.method, dim, group), {})
            counts[int(r.score)] = counts.get(int(r.score), 0) + int(r.n)
    out: list[SurveyRow] = []
    order = {d: i for i, d in enumerate(dimensions)}
    for (method_name, dim, group), counts in sorted(hist.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
        method = methods.get(method_name)
        if method is None:
            continue  # answers of a method no longer configured are kept, not scored
        out.append(SurveyRow(method=method_name, dimension=dim, group=group, score=method.summarise(counts)))
    return out


def detractors(conn: Connection, scope: Scope, methods: Mapping[str, SurveyMethod], limit: int = 10) -> list[Detractor]:
    """The most recent low scores that came with a comment, each beside its journey."""
    from .query import E

    rows = conn.execute(
        select(
            R.c.method,
            R.c.score,
            R.c.customer_id,
            R.c.comment,
            R.c.demand_id,
            R.c.service_key,
            (epoch(conn, D.c.resolved_at) - epoch(conn, D.c.created_at)).label("secs"),
        )
        .select_from(R.outerjoin(D, D.c.id == R.c.demand_id))
        .where(and_(True, *_scope_filter(scope)), R.c.comment != "")
        .order_by(R.c.at.desc())
        .limit(limit * 20)
    ).all()
    picked = []
    for r in rows:
        method = methods.get(r.method)
        if method is None or method.category(int(r.score)) not in ("detractor", "dissatisfied", "hard"):
            continue
        picked.append(r)
        if len(picked) == limit:
            break
    ids = [r.demand_id for r in picked if r.demand_id is not None]
    journeys: dict[int, list[tuple[str, str]]] = {}
    if ids:
        for e in conn.execute(
            select(E.c.demand_id, E.c.stage, E.c.customer_sees)
            .where(E.c.demand_id.in_(ids), E.c.customer_sees != "")
            .order_by(E.c.demand_id, E.c.id)
        ):
            journeys.setdefault(e.demand_id, []).append((e.stage, e.customer_sees))
    return [
        Detractor(
            method=r.method,
            score=int(r.score),
            customer_id=r.customer_id,
            comment=r.comment,
            demand_id=r.demand_id,
            service_key=r.service_key,
            outcome_seconds=float(r.secs) if r.secs is not None else None,
            journey=tuple(journeys.get(r.demand_id, [])),
        )
        for r in picked
    ]


def as_dicts(rows: list[SurveyRow]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{r.method}:{r.dimension}:{r.group}",
            "method": r.method,
            "dimension": r.dimension,
            "group": r.group,
            "value": r.score.value,
            "n": r.score.n,
            "low": r.score.low,
            "high": r.score.high,
            "label": r.score.label,
        }
        for r in rows
    ]
