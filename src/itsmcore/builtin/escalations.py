"""Escalations: when a demand needs someone above the work, tell them, once, and say so on its journey.

Built on public hooks the way a vendor would build it, and replaceable the same way
(leave ``[[escalations]]`` out and implement the same hooks):

- ``itsm_event_recorded`` sees the service-level sweep's warnings and breaches (journey
  events of kind ``service_level``) and fires the ``warning`` and ``breach`` rules;
- ``itsm_job_finished`` sees a demand's job that failed for good and fires ``dead_job`` rules;
- :func:`sweep` (run by ``itsm sla sweep``) fires ``approval`` rules for requests that have
  waited for their approver longer than the rule's ``after``, in working time.

Each rule fires once per demand and person reached: the journey event carries the
external reference ``escalation:DEMAND:RULE:PERSON``, which the store keeps unique, so
several sweeps at once, or the same breach seen twice, tell nobody twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from ..model import Actor, DemandState
from ..store import tables as t

if TYPE_CHECKING:
    from ..desk import Desk
    from ..model import Demand, JourneyEvent
    from ..model.job import Job
    from ..settings import EscalationRule

_J = t.jobs.c


@attrs.frozen(kw_only=True)
class SweepResult:
    """What one escalation sweep did: pending approvals looked at, escalations recorded."""

    looked_at: int = 0
    escalated: int = 0


def _rules(desk: Desk, when: str, demand: Demand) -> list[EscalationRule]:
    return [
        r for r in desk.config.escalations if r.when == when and r.matches(demand.service_key, int(demand.priority))
    ]


def on_event(desk: Desk, demand: Demand, event: JourneyEvent) -> None:
    """A service-level warning or breach was recorded: fire the rules on it."""
    if event.kind != "service_level" or not event.external_ref:
        return
    what = event.external_ref.rsplit(":", 1)[-1]  # service-level:ID:METRIC:warning|breach
    if what in ("warning", "breach"):
        for rule in _rules(desk, what, demand):
            escalate(desk, demand, rule, event.behind_scenes.split("; told ")[0])


def on_job(desk: Desk, job: Job) -> None:
    """A job finished: a dead one of a demand fires the ``dead_job`` rules."""
    if str(job.state) != "dead" or job.demand_id is None:
        return
    demand = desk.get(job.demand_id)
    for rule in _rules(desk, "dead_job", demand):
        escalate(desk, demand, rule, f"job {job.id} ({job.action}) failed for good: {(job.error or '')[:200]}")


def _pending_approval(desk: Desk, demand_id: int) -> tuple[str | None, datetime | None]:
    """Whom a demand waits for and since when: the last finished plan step names the approver."""
    from ..store.rows import aware

    with desk.engine.connect() as conn:
        row = conn.execute(
            select(_J.result, _J.finished_at)
            .where(_J.demand_id == demand_id, _J.state == "done", _J.step >= 0)
            .order_by(_J.step.desc(), _J.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None, None
    approver = (row.result or {}).get("approver")
    return (str(approver) if approver else None), aware(row.finished_at)


def sweep(desk: Desk, *, now: datetime | None = None, limit: int = 10_000) -> SweepResult:
    """Fire the ``approval`` rules for requests that have waited longer than the rule allows (working time)."""
    from ..settings import parse_target

    rules = [r for r in desk.config.escalations if r.when == "approval"]
    if not rules:
        return SweepResult()
    now = now or desk.clock()
    waiting = desk.list_demands(state=str(DemandState.AWAITING_APPROVAL), limit=limit)
    escalated = 0
    for demand in waiting:
        matching = [r for r in rules if r.matches(demand.service_key, int(demand.priority))]
        if not matching:
            continue
        approver, since = _pending_approval(desk, demand.id)
        if since is None:
            continue
        for rule in matching:
            calendar = desk.calendar(rule.calendar or None)
            seconds, days = parse_target(rule.after)
            allowed = seconds + days * calendar.day_seconds
            waited = calendar.between(since, now)
            if waited >= allowed:
                who = _name(desk, approver) if approver else None
                escalated += escalate(
                    desk,
                    demand,
                    rule,
                    f"the approval has waited for {who or 'its approver'} {waited / 3600:.1f} working hours"
                    f" (more than {rule.after})",
                    approver=approver,
                )
    return SweepResult(looked_at=len(waiting), escalated=escalated)


def targets(desk: Desk, demand: Demand, rule: EscalationRule, approver: str | None = None) -> tuple[list[str], str]:
    """The people ``rule`` reaches for ``demand`` (directory ids), and how the journey names them."""
    teams = desk.config.teams
    if rule.to == "team":
        team = teams[rule.team]
        people: Iterable[str] = team.notify or ([team.lead] if team.lead else desk.team_members(rule.team))
        return sorted(set(people)), f"team {rule.team}"
    if rule.to == "lead":
        key = rule.team or demand.team
        lead = teams[key].lead if key and key in teams else ""
        return ([lead] if lead else []), f"the lead of team {key or '(none)'}"
    whose = approver or demand.assignee
    if whose is None and demand.state == DemandState.AWAITING_APPROVAL:
        whose = _pending_approval(desk, demand.id)[0]
    person = desk.find_customer(whose) if whose else None
    manager = person.manager if person is not None else None
    role = "the approver" if approver or demand.state == DemandState.AWAITING_APPROVAL else "the agent"
    return ([manager] if manager else []), f"the manager of {role} {whose or '(none)'}"


def escalate(desk: Desk, demand: Demand, rule: EscalationRule, why: str, *, approver: str | None = None) -> int:
    """Record and send ``rule``'s escalation of ``demand`` to each person it reaches (once each); how many were new."""
    people, whom = targets(desk, demand, rule, approver)
    new = 0
    if not people:
        _event, recorded = desk.record_event_once(
            demand.id,
            actor=Actor.SYSTEM,
            kind="escalation",
            behind_scenes=f"escalation {rule.name!r} found nobody to tell ({whom}): {why}",
            external_ref=f"escalation:{demand.id}:{rule.name}:-",
        )
        return int(recorded)
    for person in people:
        _event, recorded = desk.record_event_once(
            demand.id,
            actor=Actor.SYSTEM,
            kind="escalation",
            behind_scenes=f"escalated to {person} ({whom}) by rule {rule.name!r}: {why}",
            external_ref=f"escalation:{demand.id}:{rule.name}:{person}",
        )
        if not recorded:
            continue
        new += 1
        desk.notify(
            person,
            f"#{demand.id} escalated to you: {demand.summary}",
            _message(desk, demand, rule, whom, why),
            purpose="escalation",
        )
    return new


def _message(desk: Desk, demand: Demand, rule: EscalationRule, whom: str, why: str) -> str:
    with_whom: list[Any] = []
    if demand.team:
        with_whom.append(f"team {demand.team}")
    if demand.assignee:
        with_whom.append(f"agent {_name(desk, demand.assignee)}")
    held = f" It is with {' and '.join(with_whom)}." if with_whom else " Nobody is working on it yet."
    return (
        f"Demand #{demand.id} ({demand.summary}) is escalated to you as {whom} by the rule {rule.name!r}:"
        f" {why[:1].lower()}{why[1:]}.{held}"
    )


def _name(desk: Desk, person: str) -> str:
    found = desk.find_customer(person)
    return found.name if found is not None else person
