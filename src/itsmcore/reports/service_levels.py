"""Service-level attainment: targets met and breached per service, team and priority.

Read from the clocks the service-levels plugin keeps (``service_level_clocks``), one row
per demand and metric, scoped by when the demand arrived. A clock counts as *met* once it
stopped within its target, *breached* once its target passed (whether or not the demand
is done), *open* while it still runs or waits within its target. Attainment is met over
met and breached: open clocks are not judged yet.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import func, select

from ..store import tables as t
from .query import Scope

if TYPE_CHECKING:
    from ..desk import Desk

C = t.service_level_clocks
DIMENSIONS = ("overall", "service", "team", "priority")


@attrs.frozen(kw_only=True)
class LevelRow:
    """One cut: a value of a dimension and a metric, with its counts."""

    dimension: str
    value: str
    metric: str
    clocks: int
    met: int
    breached: int
    open: int

    @property
    def attainment(self) -> float | None:
        judged = self.met + self.breached
        return self.met / judged if judged else None


@attrs.frozen(kw_only=True)
class ServiceLevelReport:
    scope: Scope
    rows: tuple[LevelRow, ...]
    #: breached clocks, newest first (at most 50): the demands to look at
    breaches: tuple[dict[str, Any], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.rows


def service_level_report(desk: Desk, scope: Scope) -> ServiceLevelReport:
    """Attainment and breaches in ``scope`` (demands that arrived in it), cut by service, team and priority."""
    # the team: the demand's own, else the team of its latest task
    task_team = (
        select(t.tasks.c.team)
        .where(t.tasks.c.demand_id == C.c.demand_id)
        .order_by(t.tasks.c.step.desc())
        .limit(1)
        .scalar_subquery()
    )
    team = func.coalesce(t.demands.c.team, task_team)
    q = (
        select(
            C.c.demand_id,
            C.c.metric,
            C.c.service_key,
            C.c.priority,
            C.c.state,
            C.c.breached_at,
            C.c.due_at,
            C.c.rule,
            team.label("team"),
        )
        .join(t.demands, t.demands.c.id == C.c.demand_id)
        .where(*scope.filters(C.c.started_at, C.c.service_key, C.c.kind))
    )
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    breaches: list[dict[str, Any]] = []
    with desk.engine.connect() as conn:
        for r in conn.execute(q):
            if r.breached_at is not None:
                outcome = 2
                breaches.append(
                    {
                        "demand": r.demand_id,
                        "metric": r.metric,
                        "service": r.service_key or "",
                        "team": r.team or "",
                        "priority": r.priority,
                        "rule": r.rule,
                        "breached_at": r.breached_at.isoformat(timespec="minutes"),
                    }
                )
            elif r.state == "stopped":
                outcome = 1
            else:
                outcome = 3
            for dimension, value in (
                ("overall", "all"),
                ("service", r.service_key or "(none)"),
                ("team", r.team or "(none)"),
                ("priority", str(r.priority)),
            ):
                c = counts[(dimension, value, r.metric)]
                c[0] += 1
                c[outcome] += 1
    rows = sorted(
        (
            LevelRow(dimension=d, value=v, metric=m, clocks=c[0], met=c[1], breached=c[2], open=c[3])
            for (d, v, m), c in counts.items()
        ),
        key=lambda row: (DIMENSIONS.index(row.dimension), row.value, row.metric != "response"),
    )
    breaches.sort(key=lambda b: b["breached_at"], reverse=True)
    return ServiceLevelReport(scope=scope, rows=tuple(rows), breaches=tuple(breaches[:50]))


def as_dicts(report: ServiceLevelReport) -> list[dict[str, Any]]:
    return [
        {
            "dimension": r.dimension,
            "value": r.value,
            "metric": r.metric,
            "clocks": r.clocks,
            "met": r.met,
            "breached": r.breached,
            "open": r.open,
            "attainment": None if r.attainment is None else round(r.attainment, 4),
        }
        for r in report.rows
    ]


def as_dict(report: ServiceLevelReport) -> dict[str, Any]:
    return {"scope": report.scope.describe(), "rows": as_dicts(report), "breaches": list(report.breaches)}
