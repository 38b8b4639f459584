"""As-is journey maps built from journey events, and the gaps against a declared to-be journey."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from ..model import Stage
from ..settings import ToBeJourney
from ..store import tables as t
from .query import D, Scope, and_all

J = t.journey_stages
T = t.journey_totals


@attrs.frozen(kw_only=True)
class StageFigures:
    """One stage of an as-is map."""

    stage: Stage
    reached: int  # journeys with at least one event in this stage
    share: float  # reached / journeys
    #: Time from entering this stage to entering the next one; for the outcome stage, time
    #: from the demand to its outcome (the map's own figure): what follows an outcome is the
    #: customer's wait to confirm it, which a reader of "outcome" would take for delivery.
    median_seconds: float | None
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
    """Aggregate the journeys in ``scope`` from the journey rollup (see :func:`.rollup.refresh`), in the database."""
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
    js_where = and_all(scope.filters(J.c.created_at, J.c.service_key, J.c.kind))
    # per stage and channel, from the day buckets when the period is whole days, else from the rollup
    source, cols = day_source(scope)
    per_stage: dict[str, dict[str, int]] = {}
    channels: dict[str, dict[str, int]] = {}
    for r in conn.execute(
        select(
            source.c.stage,
            source.c.channel,
            *[cols[k].label(k) for k in ("reached", "timed", "effort", "touches", "actions", "contacts")],
        )
        .where(*day_filter(scope, source))
        .group_by(source.c.stage, source.c.channel)
    ):
        sums = per_stage.setdefault(
            r.stage, dict.fromkeys(("reached", "timed", "effort", "touches", "actions", "contacts"), 0)
        )
        for k in sums:
            sums[k] += int(getattr(r, k) or 0)
        channels.setdefault(r.stage, {})[r.channel] = int(r.reached or 0)
    # journeys that stopped: still open, and their last stage so far (driven by the few open demands)
    still_open = select(D.c.id).where(where, D.c.resolved_at.is_(None))
    dropped = {
        r.stage: int(r.n)
        for r in conn.execute(
            select(J.c.stage, func.count().label("n"))
            .where(J.c.demand_id.in_(still_open), J.c.left_at.is_(None))
            .group_by(J.c.stage)
        )
    }
    # time to outcome: the resolved journeys' percentiles, by index seeks on the per-demand rollup
    t_where = and_all(scope.filters(T.c.created_at, T.c.service_key, T.c.kind))
    resolved = conn.execute(select(func.count(T.c.outcome_secs)).where(t_where)).scalar_one()
    outcome = {p: _rank_value(conn, T.c.outcome_secs, t_where, int(resolved), p) for p in (50, 90)}
    stages = []
    effort = actions = contacts = 0
    for stage in Stage:
        row = per_stage.get(str(stage))
        if row is None:
            continue
        effort += row["effort"]
        actions += row["actions"]
        contacts += row["contacts"]
        if stage is Stage.OUTCOME:
            median, p90 = outcome.get(50), outcome.get(90)
        else:
            median = _at_rank(conn, js_where, stage, row["timed"], 50)
            p90 = _at_rank(conn, js_where, stage, row["timed"], 90)
        stages.append(
            StageFigures(
                stage=stage,
                reached=row["reached"],
                share=row["reached"] / journeys,
                median_seconds=median,
                p90_seconds=p90,
                effort=row["effort"] / row["reached"],
                touchpoints=row["touches"] / row["reached"],
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
        effort_per_journey=effort / journeys,
        customer_actions_per_journey=actions / journeys,
        contacts_per_journey=contacts / journeys,
        self_service_share=float(totals[1] or 0) / journeys,
    )


def day_source(scope: Scope) -> tuple[Any, dict[str, Any]]:
    """The table to count stages from, and its sums: day buckets for whole days, else the rollup."""
    if _whole_days(scope):
        d = t.journey_days
        return d, {
            "reached": func.sum(d.c.reached),
            "timed": func.sum(d.c.timed),
            "effort": func.sum(d.c.effort),
            "touches": func.sum(d.c.touches),
            "actions": func.sum(d.c.customer_actions),
            "contacts": func.sum(d.c.contacts),
            "comments": func.sum(d.c.comments),
        }
    return J, {
        "reached": func.count(),
        "timed": func.count(J.c.secs),
        "effort": func.sum(J.c.effort),
        "touches": func.sum(J.c.touches),
        "actions": func.sum(J.c.customer_actions),
        "contacts": func.sum(J.c.contacts),
        "comments": func.sum(J.c.comments),
    }


def day_filter(scope: Scope, source: Any) -> list[ColumnElement[bool]]:
    if source is t.journey_days:
        d = t.journey_days
        out: list[ColumnElement[bool]] = []
        if scope.since is not None:
            out.append(d.c.day >= scope.since.astimezone(UTC).date().isoformat())
        if scope.until is not None:
            out.append(d.c.day < scope.until.astimezone(UTC).date().isoformat())
        if scope.service:
            out.append(d.c.service_key == scope.service)
        if scope.kind:
            out.append(d.c.kind == scope.kind)
        return out
    return scope.filters(J.c.created_at, J.c.service_key, J.c.kind)


def _whole_days(scope: Scope) -> bool:
    def midnight(when: datetime | None) -> bool:
        return when is None or when.astimezone(UTC).time() == time(0)

    return midnight(scope.since) and midnight(scope.until)


def _at_rank(conn: Connection, where: ColumnElement[bool], stage: Stage, n: int, p: int) -> float | None:
    """The nearest-rank percentile ``p`` of time in ``stage``: one index seek on (stage, secs)."""
    return _rank_value(conn, J.c.secs, and_(where, J.c.stage == str(stage)), n, p)


def _rank_value(conn: Connection, column: Any, where: ColumnElement[bool], n: int, p: int) -> float | None:
    """The value at nearest rank ``p`` % of ``n`` non-null values of ``column``: ORDER BY with OFFSET on its index."""
    if n == 0:
        return None
    rank = (n * p + 99) // 100
    value = conn.execute(
        select(column).where(where, column.is_not(None)).order_by(column).limit(1).offset(rank - 1)
    ).scalar()
    return float(value) if value is not None else None


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
