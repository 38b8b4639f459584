"""As-is journey maps built from journey events, and the gaps against a declared to-be journey."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, case, func, literal, select

from ..config import ToBeJourney
from ..model import Actor, Stage
from .query import D, E, Scope, and_all, epoch, percentiles


@attrs.frozen(kw_only=True)
class StageFigures:
    """One stage of an as-is map."""

    stage: Stage
    reached: int  # journeys with at least one event in this stage
    share: float  # reached / journeys
    median_seconds: float | None  # time from entering this stage to entering the next one
    p90_seconds: float | None
    effort: float  # mean customer effort spent in this stage, per journey that reached it
    touchpoints: float  # mean events in this stage per journey that reached it
    channels: Mapping[str, int]  # events per channel
    dropped: int  # reached this stage, then no later one while still open


@attrs.frozen(kw_only=True)
class JourneyMap:
    """The as-is journey of a scope: stages in order, with reach, time, effort and channels."""

    scope: Scope
    journeys: int
    stages: tuple[StageFigures, ...]
    outcome_median_seconds: float | None  # creation to resolution, for journeys that got there
    outcome_p90_seconds: float | None
    effort_per_journey: float
    customer_actions_per_journey: float
    contacts_per_journey: float  # customer-initiated contacts: the first one and any chases
    self_service_share: float

    @property
    def empty(self) -> bool:
        return self.journeys == 0


@attrs.frozen(kw_only=True)
class Gap:
    """Where the as-is journey misses its design."""

    stage: Stage
    kind: str  # "extra step", "slow", "effort", "channel", "missing"
    detail: str


def journey_map(conn: Connection, scope: Scope) -> JourneyMap:
    """Aggregate the journeys in ``scope``; every figure is computed in the database."""
    where = and_all(scope.demand_filter())
    totals = conn.execute(
        select(
            func.count(),
            func.sum(case((D.c.self_service.is_(True), 1), else_=0)),
        ).where(where)
    ).one()
    journeys = int(totals[0] or 0)
    if journeys == 0:
        return JourneyMap(
            scope=scope,
            journeys=0,
            stages=(),
            outcome_median_seconds=None,
            outcome_p90_seconds=None,
            effort_per_journey=0.0,
            customer_actions_per_journey=0.0,
            contacts_per_journey=0.0,
            self_service_share=0.0,
        )
    events = select(E).join(D, D.c.id == E.c.demand_id).where(where).subquery()
    is_customer = events.c.actor == str(Actor.CUSTOMER)
    is_contact = is_customer & events.c.kind.in_(("submitted", "comment"))
    entries = (
        select(
            events.c.demand_id,
            events.c.stage,
            func.min(epoch(conn, events.c.at)).label("entered"),
            func.sum(events.c.effort).label("effort"),
            func.count().label("touches"),
        )
        .group_by(events.c.demand_id, events.c.stage)
        .subquery()
    )
    # stages entered at the same moment follow the journey's own order
    position = case(*[(entries.c.stage == str(s), s.position) for s in Stage], else_=len(Stage))
    seq = select(
        entries.c.demand_id,
        entries.c.stage,
        entries.c.entered,
        func.lead(entries.c.entered)
        .over(partition_by=entries.c.demand_id, order_by=(entries.c.entered, position))
        .label("left"),
    ).subquery()
    per_stage = {
        r.stage: r
        for r in conn.execute(
            select(
                entries.c.stage,
                func.count().label("reached"),
                func.sum(entries.c.effort).label("effort"),
                func.sum(entries.c.touches).label("touches"),
            ).group_by(entries.c.stage)
        )
    }
    last = (
        select(seq.c.stage, func.count().label("n"))
        .join(D, D.c.id == seq.c.demand_id)
        .where(seq.c.left.is_(None), D.c.resolved_at.is_(None))
        .group_by(seq.c.stage)
    )
    dropped = {r.stage: int(r.n) for r in conn.execute(last)}
    durations = percentiles(
        conn,
        select(seq.c.stage, (seq.c.left - seq.c.entered).label("secs")).where(seq.c.left.is_not(None)),
        ["stage"],
        "secs",
    )
    channels: dict[str, dict[str, int]] = {}
    for r in conn.execute(
        select(events.c.stage, events.c.channel, func.count().label("n")).group_by(events.c.stage, events.c.channel)
    ):
        channels.setdefault(r.stage, {})[r.channel] = int(r.n)
    outcome = percentiles(
        conn,
        select(
            literal(1).label("all"),
            (epoch(conn, D.c.resolved_at) - epoch(conn, D.c.created_at)).label("secs"),
        ).where(where, D.c.resolved_at.is_not(None)),
        ["all"],
        "secs",
    ).get((1,), {})
    effort = conn.execute(
        select(
            func.coalesce(func.sum(events.c.effort), 0),
            func.coalesce(func.sum(case((is_customer, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_contact, 1), else_=0)), 0),
        )
    ).one()
    stages = []
    for stage in Stage:
        row = per_stage.get(str(stage))
        if row is None:
            continue
        p = durations.get((str(stage),), {})
        stages.append(
            StageFigures(
                stage=stage,
                reached=int(row.reached),
                share=int(row.reached) / journeys,
                median_seconds=p.get(50),
                p90_seconds=p.get(90),
                effort=float(row.effort or 0) / int(row.reached),
                touchpoints=float(row.touches or 0) / int(row.reached),
                channels=dict(sorted(channels.get(str(stage), {}).items(), key=lambda kv: -kv[1])),
                dropped=dropped.get(str(stage), 0),
            )
        )
    return JourneyMap(
        scope=scope,
        journeys=journeys,
        stages=tuple(stages),
        outcome_median_seconds=outcome.get(50),
        outcome_p90_seconds=outcome.get(90),
        effort_per_journey=float(effort[0]) / journeys,
        customer_actions_per_journey=float(effort[1]) / journeys,
        contacts_per_journey=float(effort[2]) / journeys,
        self_service_share=float(totals[1] or 0) / journeys,
    )


def gaps(as_is: JourneyMap, to_be: ToBeJourney) -> list[Gap]:
    """Name where the as-is journey differs from its design: extra steps, slow stages, effort, channels."""
    out: list[Gap] = []
    designed = {s.stage: s for s in to_be.stages}
    for fig in as_is.stages:
        target = designed.get(fig.stage)
        if target is None:
            if fig.share >= 0.05:
                out.append(
                    Gap(
                        stage=fig.stage,
                        kind="extra step",
                        detail=f"{fig.share:.0%} of journeys pass through {fig.stage}, which the design does not have",
                    )
                )
            continue
        if target.seconds is not None and fig.median_seconds is not None and fig.median_seconds > target.seconds:
            out.append(
                Gap(
                    stage=fig.stage,
                    kind="slow",
                    detail=f"median {human_duration(fig.median_seconds)} against a target of {target.within}",
                )
            )
        if target.effort is not None and fig.effort > target.effort:
            out.append(
                Gap(
                    stage=fig.stage,
                    kind="effort",
                    detail=f"customer effort {fig.effort:.1f} against a target of {target.effort}",
                )
            )
        if target.channels:
            off = {c: n for c, n in fig.channels.items() if c not in target.channels}
            total = sum(fig.channels.values()) or 1
            if sum(off.values()) / total >= 0.1:
                names = ", ".join(sorted(off))
                out.append(
                    Gap(
                        stage=fig.stage,
                        kind="channel",
                        detail=f"{sum(off.values()) / total:.0%} of its events happen in {names}, "
                        f"not in {', '.join(target.channels)}",
                    )
                )
    reached = {f.stage for f in as_is.stages}
    for stage in designed:
        if stage not in reached:
            out.append(Gap(stage=stage, kind="missing", detail=f"no journey reaches {stage}, which the design has"))
    return out


def human_duration(seconds: float | None) -> str:
    """A duration the way a person says it: 40s, 12m, 3.5h, 2.1d."""
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def as_dict(m: JourneyMap, gap_list: Sequence[Gap] = ()) -> dict[str, Any]:
    return {
        "id": m.scope.describe(),
        "scope": attrs.asdict(m.scope),
        "journeys": m.journeys,
        "outcome_median_seconds": m.outcome_median_seconds,
        "outcome_p90_seconds": m.outcome_p90_seconds,
        "effort_per_journey": m.effort_per_journey,
        "customer_actions_per_journey": m.customer_actions_per_journey,
        "contacts_per_journey": m.contacts_per_journey,
        "self_service_share": m.self_service_share,
        "stages": [
            {
                "stage": str(s.stage),
                "moment": str(s.stage.moment),
                "reached": s.reached,
                "share": s.share,
                "median_seconds": s.median_seconds,
                "p90_seconds": s.p90_seconds,
                "effort": s.effort,
                "touchpoints": s.touchpoints,
                "channels": dict(s.channels),
                "dropped": s.dropped,
            }
            for s in m.stages
        ],
        "gaps": [{"stage": str(g.stage), "kind": g.kind, "detail": g.detail} for g in gap_list],
    }
