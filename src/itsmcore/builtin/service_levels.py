"""Service levels: first-response and resolution clocks kept by observing the journey, and the sweep.

Built on the public hooks the way a vendor would build it, and replaceable the same way:

- ``itsm_demand_received`` starts a demand's clocks when a ``[[service_levels]]`` rule
  matches its service, kind and priority (the most specific rule wins);
- ``itsm_event_recorded`` moves them: the response clock stops when someone from IT first
  acts (the demand leaves ``new``, or an agent tells the customer something); the
  resolution clock stops at the outcome and runs again if the demand is reopened; both
  pause while the demand waits for the customer or an approver (as the rule says); a
  priority change re-targets them under the rule that now matches;
- ``itsm_service_target`` tells the status model when the resolution target falls;
- :func:`sweep` (``itsm sla sweep``, run by cron or ``--watch``) records a warning at the
  rule's share of a target and a breach when it passes, each once, as journey events
  behind the scenes, and tells the task's assignee, else the team, else the rule's
  ``notify`` people, through their preferred channel.

Times are working time in the rule's calendar. The clocks live in ``service_level_clocks``;
:mod:`itsmcore.reports.service_levels` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import and_, bindparam, insert, or_, select, update

from ..model import Actor, DemandState, ServiceTarget
from ..store import tables as t

if TYPE_CHECKING:
    from ..calendars import WorkingCalendar
    from ..desk import Desk
    from ..model import Demand, JourneyEvent
    from ..settings import ServiceLevelRule

RESPONSE, RESOLUTION = "response", "resolution"
RUNNING, PAUSED, STOPPED = "running", "paused", "stopped"

#: States in which the work is done (or will not be done): the resolution clock stops.
_ENDED = frozenset(
    {
        DemandState.FULFILLED,
        DemandState.RESOLVED,
        DemandState.ANSWERED,
        DemandState.CLOSED,
        DemandState.CANCELLED,
        DemandState.REJECTED,
    }
)

_C = t.service_level_clocks.c
_SELECT_CLOCKS = select(t.service_level_clocks).where(_C.demand_id == bindparam("b_demand"))


@attrs.frozen(kw_only=True)
class Clock:
    """One clock as stored."""

    demand_id: int
    metric: str
    rule: str
    calendar: str
    target_secs: float
    warn_share: float
    service_key: str | None
    kind: str
    priority: int
    state: str
    paused_for: str | None
    elapsed: float
    running_since: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    started_at: datetime
    stopped_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Clock:
        m = row._mapping
        return cls(**{f.name: _aware(m[f.name]) for f in attrs.fields(cls)})


def _aware(value: Any) -> Any:
    """SQLite hands datetimes back naive: they are UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


def target_seconds(text: str, calendar: WorkingCalendar) -> float:
    """A rule's ``"4h"`` or ``"2d"`` as working seconds of ``calendar`` (a day is its working day)."""
    from ..settings import parse_target

    seconds, days = parse_target(text)
    return seconds + days * calendar.day_seconds


def rule_for(desk: Desk, demand: Demand) -> ServiceLevelRule | None:
    found = desk.config.service_level(demand.service_key, str(demand.kind), int(demand.priority))
    return found[1] if found is not None else None


def _paused_for(rule_pauses: Iterable[str], demand: Demand) -> str | None:
    pauses = set(rule_pauses)
    if "approver" in pauses and demand.state == DemandState.AWAITING_APPROVAL:
        return "approver"
    if "customer" in pauses and demand.waiting_for and demand.waiting_for.startswith("your "):
        return "customer"
    return None


def _responded(demand: Demand, event: JourneyEvent | None) -> bool:
    """Someone from IT acted: the demand left ``new``, or an agent told the customer something."""
    if demand.state != DemandState.NEW:
        return True
    return event is not None and event.actor == Actor.AGENT and bool(event.customer_sees)


def _wanted(metric: str, demand: Demand, event: JourneyEvent | None, pauses: Iterable[str]) -> tuple[str, str | None]:
    """The state a clock should be in after ``event``: running, paused (and for what) or stopped."""
    if metric == RESPONSE and _responded(demand, event):
        return STOPPED, None
    if metric == RESOLUTION and demand.state in _ENDED:
        return STOPPED, None
    why = _paused_for(pauses, demand)
    return (PAUSED, why) if why else (RUNNING, None)


def _moved(clock: Clock, state: str, paused_for: str | None, at: datetime, calendar: WorkingCalendar) -> dict[str, Any]:
    """The column values that take ``clock`` to ``state`` at ``at`` (nothing when it is there already)."""
    if clock.state == state and clock.paused_for == paused_for:
        return {}
    if clock.state == STOPPED and clock.metric == RESPONSE:
        return {}  # a first response happens once
    values: dict[str, Any] = {"state": state, "paused_for": paused_for}
    elapsed = clock.elapsed
    if clock.state == RUNNING and state != RUNNING and clock.running_since is not None:
        elapsed += calendar.between(clock.running_since, at)
        values.update(elapsed=elapsed, running_since=None, due_at=None, warn_at=None)
        if elapsed >= clock.target_secs and clock.breached_at is None:
            # passed before the sweep saw it: the breach happened when the target fell
            values["breached_at"] = clock.due_at or at
    if state == STOPPED:
        values["stopped_at"] = at
    elif state == RUNNING and clock.state != RUNNING:
        values.update(_running(clock, elapsed, at, calendar), stopped_at=None)
    return values


def _running(clock: Clock, elapsed: float, at: datetime, calendar: WorkingCalendar) -> dict[str, Any]:
    """``running_since``, ``due_at`` and ``warn_at`` of a clock (re)started at ``at`` with ``elapsed`` used."""
    warn = clock.target_secs * clock.warn_share
    return {
        "running_since": at,
        "due_at": calendar.add(at, clock.target_secs - elapsed),
        "warn_at": calendar.add(at, warn - elapsed) if clock.warned_at is None and elapsed < warn else None,
    }


# ---------------------------------------------------------------------- the observer


def start(desk: Desk, demand: Demand) -> None:
    """A demand arrived: start a clock for each target of the rule that matches it."""
    rule = rule_for(desk, demand)
    if rule is None:
        return
    calendar = desk.calendar(rule.calendar or None)
    at = demand.created_at
    rows = []
    for metric, text in ((RESPONSE, rule.response), (RESOLUTION, rule.resolution)):
        if text is None:
            continue
        clock = Clock(
            demand_id=demand.id,
            metric=metric,
            rule=rule.name,
            calendar=calendar.name,
            target_secs=target_seconds(text, calendar),
            warn_share=rule.warn_at,
            service_key=demand.service_key,
            kind=str(demand.kind),
            priority=int(demand.priority),
            state=PAUSED,
            paused_for=None,
            elapsed=0.0,
            running_since=None,
            due_at=None,
            warn_at=None,
            warned_at=None,
            breached_at=None,
            started_at=at,
            stopped_at=None,
        )
        state, why = _wanted(metric, demand, None, rule.pause_when)
        values = attrs.asdict(clock) | {"state": state, "paused_for": why}
        if state == RUNNING:
            values |= _running(clock, 0.0, at, calendar)
        elif state == STOPPED:
            values["stopped_at"] = at
        rows.append(values)
    if rows:
        with desk.engine.begin() as conn:
            conn.execute(insert(t.service_level_clocks), rows)


def observe(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    """An event was recorded: move the demand's clocks to where the demand now is."""
    if not desk.config.service_levels:
        return
    with desk.engine.begin() as conn:
        clocks = [Clock.of(r) for r in conn.execute(_SELECT_CLOCKS, {"b_demand": demand.id})]
        if not clocks:
            return
        rule = rule_for(desk, demand) if event.kind == "priority" else None
        for clock in clocks:
            if rule is not None and int(demand.priority) != clock.priority:
                clock = _retarget(conn, desk, clock, demand, rule, event.at)
            pauses = _rule_pauses(desk, clock.rule)
            calendar = desk.calendar(clock.calendar if clock.calendar in desk.config.calendars else None)
            state, why = _wanted(clock.metric, demand, event, pauses)
            values = _moved(clock, state, why, event.at, calendar)
            if values:
                conn.execute(
                    update(t.service_level_clocks)
                    .where(_C.demand_id == clock.demand_id, _C.metric == clock.metric)
                    .values(**values)
                )


def _rule_pauses(desk: Desk, name: str) -> tuple[str, ...]:
    for rule in desk.config.service_levels:
        if rule.name == name:
            return rule.pause_when
    return ("customer", "approver")


def _retarget(conn: Any, desk: Desk, clock: Clock, demand: Demand, rule: ServiceLevelRule, at: datetime) -> Clock:
    """The priority changed: the clock now counts towards the target of the rule that matches (time used is kept)."""
    text = rule.response if clock.metric == RESPONSE else rule.resolution
    if text is None:
        return clock
    calendar = desk.calendar(rule.calendar or None)
    changed = attrs.evolve(
        clock,
        rule=rule.name,
        calendar=calendar.name,
        target_secs=target_seconds(text, calendar),
        warn_share=rule.warn_at,
        priority=int(demand.priority),
    )
    values: dict[str, Any] = {
        "rule": changed.rule,
        "calendar": changed.calendar,
        "target_secs": changed.target_secs,
        "warn_share": changed.warn_share,
        "priority": changed.priority,
    }
    if clock.state == RUNNING and clock.running_since is not None:
        elapsed = clock.elapsed + calendar.between(clock.running_since, at)
        values.update(elapsed=elapsed, **_running(changed, elapsed, at, calendar))
    conn.execute(
        update(t.service_level_clocks)
        .where(_C.demand_id == clock.demand_id, _C.metric == clock.metric)
        .values(**values)
    )
    return attrs.evolve(
        changed, **{k: v for k, v in values.items() if k in ("elapsed", "running_since", "due_at", "warn_at")}
    )


def clocks(desk: Desk, demand_id: int) -> list[Clock]:
    """A demand's clocks (response first)."""
    with desk.engine.connect() as conn:
        found = [Clock.of(r) for r in conn.execute(_SELECT_CLOCKS, {"b_demand": demand_id})]
    return sorted(found, key=lambda c: c.metric != RESPONSE)


def target(desk: Desk, demand: Demand) -> ServiceTarget | None:
    """When the resolution target of an open demand falls, for its status."""
    if not desk.config.service_levels or not demand.is_open:
        return None
    with desk.engine.connect() as conn:
        row = conn.execute(
            select(t.service_level_clocks).where(_C.demand_id == demand.id, _C.metric == RESOLUTION)
        ).first()
    if row is None:
        return None
    clock = Clock.of(row)
    calendar = desk.calendar(clock.calendar if clock.calendar in desk.config.calendars else None)
    return ServiceTarget(
        rule=clock.rule,
        due_at=clock.due_at if clock.state == RUNNING else None,
        timezone=calendar.timezone,
        paused=clock.state == PAUSED,
        breached=clock.breached_at is not None,
    )


# ---------------------------------------------------------------------- the sweep


@attrs.frozen(kw_only=True)
class SweepResult:
    """What one sweep did: clocks looked at, warnings and breaches recorded (each once, whoever sweeps)."""

    due: int = 0
    warnings: int = 0
    breaches: int = 0


def sweep(desk: Desk, *, now: datetime | None = None, limit: int = 10_000) -> SweepResult:
    """Record the warnings and breaches that have fallen due by ``now`` (the desk's clock by default).

    Safe to run from several machines at once: each warning and breach is a journey event
    with an external reference, recorded once, and only the process that recorded it tells
    anyone.
    """
    now = now or desk.clock()
    running = _C.state == RUNNING
    query = (
        select(t.service_level_clocks)
        .where(running, or_(_C.warn_at <= now, and_(_C.due_at <= now, _C.breached_at.is_(None))))
        .order_by(_C.due_at)
        .limit(limit)
    )
    with desk.engine.connect() as conn:
        due = [Clock.of(r) for r in conn.execute(query)]
    warnings = breaches = 0
    for clock in due:
        breach = clock.due_at is not None and clock.due_at <= now and clock.breached_at is None
        what = "breach" if breach else "warning"
        with desk.engine.begin() as conn:
            values: dict[str, Any] = {"warn_at": None}
            if breach:
                values["breached_at"] = clock.due_at
            if clock.warned_at is None:
                values["warned_at"] = now
            conn.execute(
                update(t.service_level_clocks)
                .where(_C.demand_id == clock.demand_id, _C.metric == clock.metric)
                .values(**values)
            )
        told = _tell(desk, clock, what, now)
        if told:
            if breach:
                breaches += 1
            else:
                warnings += 1
    return SweepResult(due=len(due), warnings=warnings, breaches=breaches)


def _words(clock: Clock, what: str, tz: str) -> str:
    from zoneinfo import ZoneInfo

    hours = clock.target_secs / 3600
    if hours >= 100:
        target = f"{hours / 24:g} days of working time"
    else:
        target = f"{hours:g} working hour{'' if hours == 1 else 's'}"
    # in the calendar's time zone, named: an agent in another office reads the same moment
    due = clock.due_at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z") if clock.due_at else "?"
    if what == "breach":
        return f"service level breached: the {clock.metric} target of {target} ({clock.rule}) passed at {due}"
    return (
        f"service level warning: {round(clock.warn_share * 100)}% of the {clock.metric} target of {target}"
        f" ({clock.rule}) used; it falls at {due}"
    )


def _tell(desk: Desk, clock: Clock, what: str, now: datetime) -> bool:
    """Record the warning or breach on the journey (once) and tell who works on the demand."""
    calendar = desk.calendar(clock.calendar if clock.calendar in desk.config.calendars else None)
    people = _who(desk, clock)
    words = _words(clock, what, calendar.timezone)
    _event, recorded = desk.record_event_once(
        clock.demand_id,
        actor=Actor.SYSTEM,
        kind="service_level",
        behind_scenes=words
        + (f"; told {', '.join(people)}" if people else "; nobody to tell (no assignee, team or notify)"),
        external_ref=f"service-level:{clock.demand_id}:{clock.metric}:{what}",
    )
    if not recorded:
        return False
    demand = desk.get(clock.demand_id)
    subject = f"#{demand.id} {'breached' if what == 'breach' else 'at risk'}: {demand.summary}"
    for person in people:
        desk.notify(person, subject, f"{words[:1].upper()}{words[1:]}.", purpose="service_level")
    return True


def _who(desk: Desk, clock: Clock) -> list[str]:
    """The open task's assignee, else its team's ``notify`` people, else the rule's."""
    teams: Mapping[str, Any] = desk.config.teams
    for task in desk.tasks(demand_id=clock.demand_id, open_only=True):
        if task.assignee:
            return [task.assignee]
        if task.team and task.team in teams and teams[task.team].notify:
            return list(teams[task.team].notify)
    for rule in desk.config.service_levels:
        if rule.name == clock.rule:
            return list(rule.notify)
    return []
