"""Experience analytics: journey maps from event data, surveys, failure demand, better-than-last-time.

Each report takes a :class:`~itsmcore.desk.Desk` and a :class:`Scope` and returns plain
attrs records; :mod:`itsmcore.reports.render` turns them into a terminal table, CSV,
JSON or one standalone HTML page. The aggregation happens in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from .consistency import Consistency, Pair, consistency
from .failure import CATEGORIES, FailureDemand, failure_demand
from .journeys import Gap, JourneyMap, StageFigures, gaps, human_duration, journey_map
from .query import Scope
from .reviews import ReviewRow, review_rows
from .rollup import refresh
from .surveys import DIMENSIONS, Detractor, SurveyRow, detractors, survey_rows

if TYPE_CHECKING:
    from ..desk import Desk

__all__ = [
    "CATEGORIES",
    "DIMENSIONS",
    "Consistency",
    "Detractor",
    "ExperienceReport",
    "FailureDemand",
    "Gap",
    "JourneyMap",
    "Pair",
    "ReviewRow",
    "Scope",
    "StageFigures",
    "SurveyRow",
    "consistency_report",
    "experience_report",
    "failure_demand_report",
    "human_duration",
    "journey_report",
    "refresh_rollup",
    "review_report",
    "survey_report",
]


def refresh_rollup(desk: Desk) -> int:
    """Bring the journey rollup up to date with the events written since last time; returns how many."""
    scales = {name: (int(m.low), int(m.high)) for name, m in desk.deployment.surveys().items()}
    with desk.engine.begin() as conn:
        return refresh(conn, scales)


def journey_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> tuple[JourneyMap, list[Gap]]:
    """The as-is map of ``scope``; with a service that has a to-be journey, the gaps too."""
    if fresh:
        refresh_rollup(desk)
    with desk.engine.connect() as conn:
        m = journey_map(conn, scope)
    to_be = desk.config.to_be.get(scope.service or "")
    return m, (gaps(m, to_be) if to_be is not None and not m.empty else [])


def survey_report(
    desk: Desk, scope: Scope, dimensions: tuple[str, ...] = DIMENSIONS
) -> tuple[list[SurveyRow], list[Detractor]]:
    methods = desk.deployment.surveys()
    with desk.engine.connect() as conn:
        return survey_rows(conn, scope, methods, dimensions), detractors(conn, scope, methods)


def review_report(desk: Desk, scope: Scope) -> list[ReviewRow]:
    """Per service, the average rating and count of the reviews customers wrote for colleagues."""
    with desk.engine.connect() as conn:
        return review_rows(conn, scope)


def failure_demand_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> FailureDemand:
    if fresh:
        refresh_rollup(desk)
    with desk.engine.connect() as conn:
        return failure_demand(conn, scope)


def consistency_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> Consistency:
    if fresh:
        refresh_rollup(desk)
    with desk.engine.connect() as conn:
        return consistency(conn, scope)


@attrs.frozen(kw_only=True)
class ExperienceReport:
    """Everything on one page: the headline figures, the maps of the busiest services, what got worse."""

    deployment: str
    scope: Scope
    overall: JourneyMap
    services: tuple[tuple[str, JourneyMap, tuple[Gap, ...]], ...]
    surveys: tuple[SurveyRow, ...]
    detractors: tuple[Detractor, ...]
    failure: FailureDemand
    consistency: Consistency
    reviews: tuple[ReviewRow, ...] = ()

    @property
    def empty(self) -> bool:
        return self.overall.empty


def experience_report(
    desk: Desk, scope: Scope, top: int = 5, progress: Callable[[str], object] | None = None
) -> ExperienceReport:
    """The CIO's page. ``progress`` (a callable taking a step name) is told as each part is done."""
    from sqlalchemy import func, select

    from .query import D, and_all

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    refresh_rollup(desk)
    step("rollup")
    overall, _ = journey_report(desk, attrs.evolve(scope, service=None), fresh=False)
    step("journeys")
    with desk.engine.connect() as conn:
        busiest = [
            r[0]
            for r in conn.execute(
                select(D.c.service_key)
                .where(and_all(attrs.evolve(scope, service=None).demand_filter()), D.c.service_key.is_not(None))
                .group_by(D.c.service_key)
                .order_by(func.count().desc())
                .limit(top)
            )
        ]
    if scope.service:
        busiest = [scope.service]
    services = []
    for key in busiest:
        m, g = journey_report(desk, attrs.evolve(scope, service=key), fresh=False)
        services.append((key, m, tuple(g)))
    step("services")
    rows, low = survey_report(desk, scope, ("overall", "service", "channel", "period", "mode"))
    step("surveys")
    reviews = review_report(desk, scope)
    step("reviews")
    fd = failure_demand_report(desk, scope, fresh=False)
    step("failure demand")
    cons = consistency_report(desk, scope, fresh=False)
    step("consistency")
    return ExperienceReport(
        deployment=desk.name,
        scope=scope,
        overall=overall,
        services=tuple(services),
        surveys=tuple(rows),
        detractors=tuple(low),
        failure=fd,
        consistency=cons,
        reviews=tuple(reviews),
    )
