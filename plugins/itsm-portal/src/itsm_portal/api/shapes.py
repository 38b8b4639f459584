"""What the API answers with: attrs classes (their JSON Schema is in the OpenAPI document) and how each is made.

Timestamps are ISO 8601 text with their UTC offset; ``state``, ``stage`` and ``kind`` are
the core's internal names, ``status`` what the customer is told.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from itsmcore import Announcement, CustomerStatus, Demand, JourneyEvent, Review, Task


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@attrs.frozen(kw_only=True)
class StatusOut:
    """Where a demand stands in its customer's words: the same on every channel."""

    sentence: str
    label: str
    expected: str | None
    finished: bool
    needs_customer: bool


@attrs.frozen(kw_only=True)
class DemandOut:
    """A demand: ``state`` and ``stage`` are internal names, ``status`` what its customer is told."""

    id: int
    kind: str
    customer: str
    summary: str
    details: str
    service: str | None
    channel: str
    state: str
    stage: str
    priority: int
    team: str | None
    assignee: str | None
    waiting_for: str | None
    status: StatusOut
    announcement_id: int | None
    external_ref: str | None
    answers: dict[str, Any]
    created_at: str
    updated_at: str
    resolved_at: str | None


@attrs.frozen(kw_only=True)
class PersonOut:
    """Who acted: a directory login and name (an API token: its name, and "API token")."""

    login: str
    name: str


@attrs.frozen(kw_only=True)
class EventOut:
    """One event of a demand's journey: what its customer saw and what happened behind the scenes.

    ``actor`` is the role (customer, agent, system, a token's or plugin's name); ``by`` the person
    when one is known, and ``on_behalf_of`` whom they acted for (an approval recorded for the approver).
    """

    id: int | None
    stage: str
    channel: str
    actor: str
    kind: str
    customer_sees: str
    behind_scenes: str
    at: str
    by: PersonOut | None = None
    on_behalf_of: PersonOut | None = None


@attrs.frozen(kw_only=True)
class DemandDetail(DemandOut):
    """A demand with its journey (oldest first) and what its plan produced."""

    journey: list[EventOut]
    outputs: dict[str, Any]


@attrs.frozen(kw_only=True)
class LinkOut:
    title: str
    url: str


@attrs.frozen(kw_only=True)
class AnnouncementOut:
    """What a service's subscribers are told is wrong, its workaround and estimate; then its resolution."""

    id: int
    service: str
    title: str
    description: str
    workaround: str
    links: list[LinkOut]
    estimate: str
    state: str
    resolution: str
    opened_at: str
    resolved_at: str | None


@attrs.frozen(kw_only=True)
class MilestoneOut:
    name: str
    at: str


@attrs.frozen(kw_only=True)
class TaskOut:
    """A plan step people do; the customer follows its milestones like a parcel."""

    id: int
    demand_id: int
    step: int
    title: str
    team: str | None
    state: str
    assignee: str | None
    milestones: list[MilestoneOut]
    expected: str
    expected_at: str | None
    created_at: str
    updated_at: str


@attrs.frozen(kw_only=True)
class ReviewOut:
    """A review; an anonymous one names no customer unless the desk's view was asked for."""

    id: int
    service: str
    rating: int
    text: str
    by: str
    customer: str | None
    anonymous: bool
    at: str
    demand_id: int | None = None
    hidden: bool | None = None
    hidden_by: str | None = None
    hidden_reason: str | None = None


def status_out(st: CustomerStatus) -> StatusOut:
    return StatusOut(
        sentence=st.sentence,
        label=st.label,
        expected=st.expected,
        finished=st.finished,
        needs_customer=st.needs_customer,
    )


def _demand_fields(d: Demand, status: CustomerStatus) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": str(d.kind),
        "customer": d.customer_id,
        "summary": d.summary,
        "details": d.details,
        "service": d.service_key,
        "channel": d.channel,
        "state": str(d.state),
        "stage": str(d.stage),
        "priority": int(d.priority),
        "team": d.team,
        "assignee": d.assignee,
        "waiting_for": d.waiting_for,
        "status": status_out(status),
        "announcement_id": d.announcement_id,
        "external_ref": d.external_ref,
        "answers": dict(d.answers),
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
        "resolved_at": when(d.resolved_at),
    }


def demand_out(d: Demand, status: CustomerStatus) -> DemandOut:
    return DemandOut(**_demand_fields(d, status))


def demand_detail(d: Demand, status: CustomerStatus, journey: list[EventOut], outputs: dict[str, Any]) -> DemandDetail:
    return DemandDetail(**_demand_fields(d, status), journey=journey, outputs=outputs)


def event_out(e: JourneyEvent) -> EventOut:
    return EventOut(
        id=e.id,
        stage=str(e.stage),
        channel=e.channel,
        actor=e.actor,
        kind=e.kind,
        customer_sees=e.customer_sees,
        behind_scenes=e.behind_scenes,
        at=e.at.isoformat(),
        by=PersonOut(login=e.by.login, name=e.by.name) if e.by else None,
        on_behalf_of=PersonOut(login=e.on_behalf_of.login, name=e.on_behalf_of.name) if e.on_behalf_of else None,
    )


def announcement_out(a: Announcement) -> AnnouncementOut:
    return AnnouncementOut(
        id=a.id,
        service=a.service_key,
        title=a.title,
        description=a.description,
        workaround=a.workaround,
        links=[LinkOut(title=x.title, url=x.url) for x in a.workaround_links],
        estimate=a.estimate,
        state=str(a.state),
        resolution=a.resolution,
        opened_at=a.opened_at.isoformat(),
        resolved_at=when(a.resolved_at),
    )


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        demand_id=task.demand_id,
        step=task.step,
        title=task.title,
        team=task.team,
        state=str(task.state),
        assignee=task.assignee,
        milestones=[MilestoneOut(name=m.name, at=m.at.isoformat()) for m in task.milestones],
        expected=task.expected,
        expected_at=when(task.expected_at),
        created_at=task.created_at.isoformat(),
        updated_at=task.updated_at.isoformat(),
    )


def review_out(r: Review, *, desk_view: bool = False) -> ReviewOut:
    """A review as colleagues see it (an anonymous one names nobody), or with ``desk_view`` all the desk knows."""
    if desk_view:
        return ReviewOut(
            id=r.id,
            service=r.service_key,
            rating=r.rating,
            text=r.text,
            by=r.shown_as,
            customer=r.customer_id,
            anonymous=r.anonymous,
            at=r.at.isoformat(),
            demand_id=r.demand_id,
            hidden=r.hidden,
            hidden_by=r.hidden_by,
            hidden_reason=r.hidden_reason,
        )
    return ReviewOut(
        id=r.id,
        service=r.service_key,
        rating=r.rating,
        text=r.text,
        by=r.shown_as,
        customer=None if r.anonymous else r.customer_id,
        anonymous=r.anonymous,
        at=r.at.isoformat(),
    )
