"""Experience analytics: journey maps from event data, surveys, failure demand, better-than-last-time.

Each report takes a :class:`~itsmcore.desk.Desk` and a :class:`Scope` and returns plain
attrs records; :mod:`itsmcore.reports.render` turns them into a terminal table, CSV,
JSON or one standalone HTML page. The aggregation happens in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs

from .consistency import Consistency, Pair, consistency
from .failure import CATEGORIES, FailureDemand, failure_demand
from .journeys import Gap, JourneyMap, StageFigures, gaps, human_duration, journey_map
from .outside_in import GapMark, OutsideIn, compare, outside_in
from .query import Scope
from .reviews import ReviewRow, review_rows
from .rollup import refresh, settle
from .surveys import DIMENSIONS, AnswerCounts, Detractor, SurveyRow, answer_counts, detractors, survey_rows
from .trends import Trends, trends

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..desk import Desk

__all__ = [
    "CATEGORIES",
    "DIMENSIONS",
    "AnswerCounts",
    "Consistency",
    "Detractor",
    "ExperienceReport",
    "FailureDemand",
    "Gap",
    "GapMark",
    "JourneyMap",
    "OutsideIn",
    "Pair",
    "ReviewRow",
    "Scope",
    "StageFigures",
    "SurveyRow",
    "Trends",
    "consistency_report",
    "demand_link",
    "experience_report",
    "failure_demand_report",
    "human_duration",
    "journey_report",
    "outside_in_report",
    "refresh_rollup",
    "review_report",
    "survey_answers",
    "survey_report",
    "trend_report",
]


@contextmanager
def _reading(desk: Desk) -> Iterator[Connection]:
    """A connection for a report's queries, in one transaction.

    On PostgreSQL without JIT compilation for that transaction: the planner's estimates of the
    reports' statements (a lookup per survey answer, windows over the rollup) pass its JIT
    thresholds, and compiling took a tenth to half a second per statement that then ran in a
    few hundredths (the outside-in map of one service: 0.8 s with it, 0.5 s without).
    """
    from sqlalchemy import text

    with desk.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('jit', 'off', true)"))
        yield conn


def refresh_rollup(desk: Desk, progress: Callable[[str], object] | None = None) -> int:
    """Bring the journey rollup up to date with the events written since last time; returns how many.

    ``progress`` is told each step's name as it ends (see :data:`.rollup.STEPS`).
    """
    scales = {name: (int(m.low), int(m.high)) for name, m in desk.deployment.surveys().items()}
    with desk.engine.begin() as conn:
        folded = refresh(conn, scales, progress)
    settle(desk.engine, folded)
    return folded


def journey_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> tuple[JourneyMap, list[Gap]]:
    """The as-is map of ``scope``; with a service that has a to-be journey, the gaps too."""
    if fresh:
        refresh_rollup(desk)
    with _reading(desk) as conn:
        m = journey_map(conn, scope)
    to_be = desk.config.to_be.get(scope.service or "")
    return m, (gaps(m, to_be) if to_be is not None and not m.empty else [])


def outside_in_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> tuple[OutsideIn, list[GapMark]]:
    """The outside-in map of ``scope`` (lanes for what the customer does, sees and feels); with a to-be, its gaps.

    The gaps come sized by the journeys they touch, the largest first: what to change first.
    """
    if fresh:
        refresh_rollup(desk)
    title = scope.describe()
    if scope.service:
        try:
            title = desk.get_service(scope.service).name
        except Exception:  # a service no longer in the catalog keeps its history
            title = scope.service
    to_be = desk.config.to_be.get(scope.service or "")
    with _reading(desk) as conn:
        oi = outside_in(conn, scope, desk.deployment.surveys(), title=title)
        return oi, (compare(conn, oi, to_be) if to_be is not None and not oi.empty else [])


def trend_report(
    desk: Desk, scope: Scope, period: str | None = None, *, fresh: bool = True, answers: AnswerCounts | None = None
) -> Trends:
    """NPS, CSAT, CES, failure-demand share, self-service, time to outcome and better than last time, over time.

    ``period`` is "week" or "month"; by default weeks for up to half a year of demands, months beyond.
    ``answers``: the scope's survey answers when already counted (see :func:`survey_report`).
    """
    if fresh:
        refresh_rollup(desk)
    with _reading(desk) as conn:
        return trends(conn, scope, desk.deployment.surveys(), period, answers)


def demand_link(desk: Desk) -> Callable[[int], str]:
    """Where a demand opens for the service desk: the portal's desk page under the deployment's public URL."""
    base = str(getattr(desk.config.deployment, "public_url", "") or "").rstrip("/")
    return lambda demand_id: f"{base}/desk/demands/{int(demand_id)}"


def survey_report(
    desk: Desk, scope: Scope, dimensions: tuple[str, ...] = DIMENSIONS, answers: AnswerCounts | None = None
) -> tuple[list[SurveyRow], list[Detractor]]:
    """Each survey method's score per group of ``dimensions``, and the latest detractors with their journeys.

    ``answers`` may be counted beforehand (:func:`survey_answers`) to be shared with :func:`trend_report`.
    """
    methods = desk.deployment.surveys()
    with _reading(desk) as conn:
        return survey_rows(conn, scope, methods, dimensions, answers), detractors(conn, scope, methods)


def survey_answers(desk: Desk, scope: Scope, dimensions: tuple[str, ...] = DIMENSIONS) -> AnswerCounts:
    """The survey answers of ``scope`` counted once, for :func:`survey_report` and :func:`trend_report` to share."""
    with _reading(desk) as conn:
        return answer_counts(conn, scope, dimensions)


def review_report(desk: Desk, scope: Scope) -> list[ReviewRow]:
    """Per service, the average rating and count of the reviews customers wrote for colleagues."""
    with _reading(desk) as conn:
        return review_rows(conn, scope)


def failure_demand_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> FailureDemand:
    if fresh:
        refresh_rollup(desk)
    with _reading(desk) as conn:
        return failure_demand(conn, scope)


def consistency_report(desk: Desk, scope: Scope, *, fresh: bool = True) -> Consistency:
    if fresh:
        refresh_rollup(desk)
    with _reading(desk) as conn:
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
    trends: Trends | None = None

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
    with _reading(desk) as conn:
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
    dimensions = ("overall", "service", "channel", "period", "mode")
    answers = survey_answers(desk, scope, dimensions)  # one pass over the answers, for the figures and the trends
    rows, low = survey_report(desk, scope, dimensions, answers)
    step("surveys")
    reviews = review_report(desk, scope)
    step("reviews")
    fd = failure_demand_report(desk, scope, fresh=False)
    step("failure demand")
    cons = consistency_report(desk, scope, fresh=False)
    step("consistency")
    tr = trend_report(desk, scope, fresh=False, answers=answers)
    step("trends")
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
        trends=tr,
    )
