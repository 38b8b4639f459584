"""Better than last time: each experience compared with the customer's previous one of its service and kind.

Per demand the database works out time to outcome, customer effort and the survey
score (scaled 0..1 so methods compare); ``LAG`` over each customer's demands of one
service and kind pairs it with the one before, when the rollup is refreshed. A phone in three days is no step
backwards from a password reset in a minute, so only like is compared with like; a
demand without a service has nothing like it to be compared with. Worse means slower by more than a quarter (and a
minute), more effort, or a lower score.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select

from ..store import tables as t
from .query import Scope, and_all

SLOWER = 1.25
GRACE_SECONDS = 60.0


@attrs.frozen(kw_only=True)
class Pair:
    customer_id: str
    service_key: str
    kind: str
    previous_id: int
    current_id: int
    previous_seconds: float | None
    current_seconds: float | None
    previous_effort: int
    current_effort: int
    previous_score: float | None
    current_score: float | None
    why: str


@attrs.frozen(kw_only=True)
class Consistency:
    scope: Scope
    compared: int  # experiences that had an earlier one of the same service and kind
    worse: int
    pairs: tuple[Pair, ...]  # the worst, for a person to read

    @property
    def as_good_share(self) -> float:
        return (self.compared - self.worse) / self.compared if self.compared else 0.0

    @property
    def empty(self) -> bool:
        return self.compared == 0


def paired_experiences(scope: Scope) -> tuple[Any, ColumnElement[bool]]:
    """Each resolved journey beside the customer's previous one of its service and kind, and when it was worse.

    The rollup pairs them when it is refreshed (``prev_id`` and the previous figures, none
    for a first experience). Previous experiences may lie before the period, so the period
    is left to the caller (on ``created_at``).
    """
    T = t.journey_totals
    base_filter: list[ColumnElement[bool]] = [T.c.outcome_secs.is_not(None), T.c.service_key.is_not(None)]
    if scope.service:
        base_filter.append(T.c.service_key == scope.service)
    if scope.kind:
        base_filter.append(T.c.kind == scope.kind)
    paired = (
        select(
            T.c.demand_id.label("id"),
            T.c.customer_id,
            T.c.service_key,
            T.c.kind,
            T.c.created_at,
            T.c.outcome_secs.label("secs"),
            T.c.effort,
            T.c.score,
            T.c.prev_id,
            T.c.prev_secs,
            T.c.prev_effort,
            T.c.prev_score,
        )
        .select_from(T)
        .where(*base_filter)
        .subquery()
    )
    return paired, or_(*_reasons(paired))


def _reasons(paired: Any) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    slower = paired.c.secs > paired.c.prev_secs * SLOWER + GRACE_SECONDS
    harder = paired.c.effort > paired.c.prev_effort
    lower = and_(paired.c.score.is_not(None), paired.c.prev_score.is_not(None), paired.c.score < paired.c.prev_score)
    return slower, harder, lower


def consistency(conn: Connection, scope: Scope, limit: int = 20) -> Consistency:
    """Pairs each resolved journey with the customer's previous one of its service and kind (per-demand rollup)."""
    paired, worse = paired_experiences(scope)
    current: list[ColumnElement[bool]] = [paired.c.prev_id.is_not(None)]
    if scope.since is not None:
        current.append(paired.c.created_at >= scope.since)
    if scope.until is not None:
        current.append(paired.c.created_at < scope.until)
    slower, harder, lower = _reasons(paired)
    compared, n_worse = conn.execute(
        select(func.count(), func.sum(case((worse, 1), else_=0))).where(and_all(current))
    ).one()
    # the worse ones, the most slowed-down at the top
    rows = conn.execute(
        select(
            paired,
            case((slower, 1), else_=0).label("slower"),
            case((harder, 1), else_=0).label("harder"),
            case((lower, 1), else_=0).label("lower"),
        )
        .where(and_all(current), worse)
        .order_by((paired.c.secs / func.nullif(paired.c.prev_secs + GRACE_SECONDS, 0)).desc())
        .limit(limit)
    ).all()
    totals = (compared or 0, n_worse or 0)
    pairs = []
    for r in rows:
        why = [w for w, flag in (("slower", r.slower), ("more effort", r.harder), ("lower score", r.lower)) if flag]
        pairs.append(
            Pair(
                customer_id=r.customer_id,
                service_key=r.service_key,
                kind=r.kind,
                previous_id=int(r.prev_id),
                current_id=int(r.id),
                previous_seconds=r.prev_secs,
                current_seconds=r.secs,
                previous_effort=int(r.prev_effort or 0),
                current_effort=int(r.effort or 0),
                previous_score=r.prev_score,
                current_score=r.score,
                why=", ".join(why),
            )
        )
    return Consistency(scope=scope, compared=int(totals[0]), worse=int(totals[1]), pairs=tuple(pairs))


def as_dicts(c: Consistency) -> list[dict[str, Any]]:
    return [{"id": f"{p.previous_id}->{p.current_id}", **attrs.asdict(p)} for p in c.pairs]
