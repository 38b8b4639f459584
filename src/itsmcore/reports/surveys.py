"""Survey results by service, kind, channel, persona and period, each with its sample size and interval.

The database counts answers per group and score (at most eleven rows per group);
each survey method turns its histogram into its headline figure and 95 % interval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs
from sqlalchemy import Connection, and_, func, select

from ..components import SurveyMethod, SurveyScore
from .query import D, R, Scope, epoch, month, utc_day

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


@attrs.frozen(kw_only=True)
class AnswerCounts:
    """The survey answers of a scope counted per method, score, UTC day and each wanted dimension.

    One pass over the answers that both the survey figures (:func:`survey_rows`) and the
    trend page (:func:`.trends.survey_series`) fold, so a page showing both reads them once.
    """

    scope: Scope
    dimensions: tuple[str, ...]  # the dimensions in each key after (method, score, day); never "overall"
    counts: Mapping[tuple[Any, ...], int]  # (method, score, day, *dimensions) -> answers


def answer_counts(conn: Connection, scope: Scope, dimensions: tuple[str, ...] = ()) -> AnswerCounts:
    """Count the answers in ``scope`` per method, score, UTC day and ``dimensions`` (see :class:`AnswerCounts`).

    SQLite streams the few columns into a counter (cheaper than its sort for a GROUP BY);
    PostgreSQL groups them itself. Either way a few thousand keys come back.
    """
    wanted = tuple(d for d in dimensions if d != "overall")
    columns: dict[str, Any] = {
        "service": func.coalesce(R.c.service_key, "(none)"),
        "kind": func.coalesce(D.c.kind, "(tracker)"),
        "channel": func.coalesce(func.nullif(R.c.channel, ""), D.c.channel, "(unknown)"),
        "role": func.coalesce(D.c.customer_role, "(unknown)"),
        "department": func.coalesce(D.c.customer_department, "(unknown)"),
        "period": month(conn, R.c.at),
        "mode": R.c.mode,
    }
    # the demand behind each answer only when a cut needs it (a lookup per answer otherwise saved)
    joined = bool(scope.kind) or any(d in ("kind", "role", "department") for d in wanted)
    if not joined:
        columns["channel"] = func.coalesce(func.nullif(R.c.channel, ""), "(unknown)")
    keys = [R.c.method, R.c.score, utc_day(conn, R.c.at), *[columns[d] for d in wanted]]
    q = select(*keys).select_from(R.outerjoin(D, D.c.id == R.c.demand_id) if joined else R)
    q = q.where(and_(True, *_scope_filter(scope)))
    counts: Counter[tuple[Any, ...]] = Counter()
    if conn.dialect.name == "postgresql":
        for r in conn.execute(q.add_columns(func.count()).group_by(*keys)):
            counts[(r[0], int(r[1]), *r[2:-1])] += int(r[-1])
    else:
        counts.update(map(tuple, conn.execute(q)))
    return AnswerCounts(scope=scope, dimensions=wanted, counts=counts)


def survey_rows(
    conn: Connection,
    scope: Scope,
    methods: Mapping[str, SurveyMethod],
    dimensions: tuple[str, ...] = DIMENSIONS,
    answers: AnswerCounts | None = None,
) -> list[SurveyRow]:
    """Each method's score overall and per group of each dimension (from ``answers`` when they fit)."""
    wanted = tuple(d for d in dimensions if d != "overall")
    if answers is None or answers.scope != scope or answers.dimensions != wanted:
        answers = answer_counts(conn, scope, wanted)
    # each dimension's histogram summed from the counts per combination of every dimension and score
    hist: dict[tuple[str, str, str], dict[int, int]] = {}
    for key, n in answers.counts.items():
        name, score = key[0], int(key[1])
        groups = [("overall", "all")] if "overall" in dimensions else []
        groups += [(d, str(v)) for d, v in zip(wanted, key[3:], strict=True)]
        for dim, group in groups:
            counts = hist.setdefault((name, dim, group), {})
            counts[score] = counts.get(score, 0) + n
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
