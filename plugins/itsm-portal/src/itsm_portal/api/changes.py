"""Planned changes: record, list, read, decide (every approver once), start, complete, cancel; the calendar.

A decision is recorded under the token's name for the approver it is given for
(``on_behalf_of``, else the token's name itself must be an approver). A step the change
cannot take from where it is answers 409 with its ``state`` and the ``allowed`` ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import ChangeRisk, ChangeState, InvalidAnswers

from .routing import Call, Text, operation
from .shapes import when

if TYPE_CHECKING:
    StateName = str
    RiskName = str
else:  # the core's names, so the document lists them and a wrong one is refused naming them
    StateName = Literal[tuple(str(s) for s in ChangeState)]
    RiskName = Literal[tuple(str(s) for s in ChangeRisk)]

Moment = Annotated[str, msgspec.Meta(description="an ISO 8601 timestamp (UTC when it names no zone)")]
OnBehalfOf = Annotated[
    str | None, msgspec.Meta(description="the approver (their directory id) whose decision you record")
]


@attrs.frozen(kw_only=True)
class DecisionOut:
    approver: str
    on_behalf_of: str | None
    approved: bool
    note: str
    at: str | None


@attrs.frozen(kw_only=True)
class ChangeOut:
    """A planned change; ``waiting_for`` names the approvers who have not decided while it is proposed."""

    id: int
    title: str
    description: str
    services: list[str]
    items: list[str]
    start: str | None
    end: str | None
    risk: str
    customer_impact: bool
    approvers: list[str]
    waiting_for: list[str]
    decisions: list[DecisionOut]
    state: str
    allowed: list[str]
    owner: str
    started_at: str | None
    ended_at: str | None
    announcements: list[int]


@attrs.frozen(kw_only=True)
class ChangeList:
    changes: list[ChangeOut]


@attrs.frozen(kw_only=True)
class ChangeQuery:
    state: StateName | None = None
    service: Annotated[str | None, msgspec.Meta(description="only changes touching this service (its key)")] = None


@attrs.frozen(kw_only=True)
class CalendarQuery:
    start: Annotated[str | None, msgspec.Meta(description="the first day, ISO 8601 (default: today)")] = None
    days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 14


@attrs.frozen(kw_only=True)
class NewChange:
    """A proposed change; its approvers are asked at once. ``items`` add the services their outage reaches."""

    title: Text
    start: Moment
    end: Moment
    approvers: list[str]
    services: list[str] = attrs.Factory(list)
    items: list[str] = attrs.Factory(list)
    risk: RiskName = "low"
    customer_impact: bool = True
    description: str = ""
    owner: str = ""


@attrs.frozen(kw_only=True)
class Approval:
    note: str = ""
    on_behalf_of: OnBehalfOf = None


@attrs.frozen(kw_only=True)
class Rejection:
    reason: Annotated[Text, msgspec.Meta(description="why, for the change's owner")]
    on_behalf_of: OnBehalfOf = None


@attrs.frozen(kw_only=True)
class Note:
    note: str = ""


def _moment(name: str, value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidAnswers({name: "expected an ISO 8601 timestamp like 2026-12-10T18:00"}) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def change_out(c: Any) -> ChangeOut:
    return ChangeOut(
        id=c.id,
        title=c.title,
        description=c.description,
        services=list(c.services),
        items=list(c.items),
        start=when(c.start),
        end=when(c.end),
        risk=str(c.risk),
        customer_impact=c.customer_impact,
        approvers=list(c.approvers),
        waiting_for=list(c.waiting_for()) if c.state == ChangeState.PROPOSED else [],
        decisions=[
            DecisionOut(
                approver=d.approver, on_behalf_of=d.on_behalf_of, approved=d.approved, note=d.note, at=when(d.at)
            )
            for d in c.decisions
        ],
        state=str(c.state),
        allowed=c.allowed_next(),
        owner=c.owner,
        started_at=when(c.started_at),
        ended_at=when(c.ended_at),
        announcements=list(c.announcements),
    )


@operation("GET", "/changes", scope="read", query=ChangeQuery, answer=ChangeList, summary="Planned changes, by window")
def list_changes(call: Call) -> ChangeList:
    q: ChangeQuery = call.query
    return ChangeList(changes=[change_out(c) for c in call.desk.list_changes(state=q.state, service=q.service)])


@operation(
    "GET",
    "/changes/calendar",
    scope="read",
    query=CalendarQuery,
    answer=ChangeList,
    summary="The change calendar: changes planned or under way in the coming days",
)
def calendar(call: Call) -> ChangeList:
    q: CalendarQuery = call.query
    start = _moment("start", q.start) if q.start else call.desk.clock().replace(hour=0, minute=0, second=0)
    return ChangeList(changes=[change_out(c) for c in call.desk.change_calendar(start, q.days)])


@operation("GET", "/changes/{cid}", scope="read", answer=ChangeOut, summary="A planned change with its decisions")
def read_change(call: Call) -> ChangeOut:
    return change_out(call.desk.get_change(call.id("cid")))


@operation(
    "POST",
    "/changes",
    scope="agent",
    body=NewChange,
    answer=ChangeOut,
    status=201,
    summary="Record a proposed change (422 names a window that ends before it starts, or an unknown service or item)",
)
def create(call: Call) -> ChangeOut:
    b: NewChange = call.body
    c = call.desk.new_change(
        b.title,
        start=_moment("start", b.start),
        end=_moment("end", b.end),
        approvers=b.approvers,
        services=b.services,
        items=b.items,
        risk=b.risk,
        customer_impact=b.customer_impact,
        description=b.description,
        owner=b.owner or call.actor,
    )
    return change_out(c)


@operation(
    "POST",
    "/changes/{cid}/approve",
    scope="agent",
    body=Approval,
    answer=ChangeOut,
    conflict=True,
    summary="An approver's yes (409 when they decided already or the change waits for no approval)",
)
def approve(call: Call) -> ChangeOut:
    """403 unless the approver (``on_behalf_of``, else the token's name) is one of the change's."""
    b: Approval = call.body
    return change_out(call.desk.approve_change(call.id("cid"), call.actor, b.note, on_behalf_of=b.on_behalf_of))


@operation(
    "POST",
    "/changes/{cid}/reject",
    scope="agent",
    body=Rejection,
    answer=ChangeOut,
    conflict=True,
    summary="An approver's no, with the reason: the change is rejected",
)
def reject(call: Call) -> ChangeOut:
    """Errors as for approve."""
    b: Rejection = call.body
    return change_out(call.desk.reject_change(call.id("cid"), call.actor, b.reason, on_behalf_of=b.on_behalf_of))


@operation(
    "POST",
    "/changes/{cid}/start",
    scope="agent",
    body=Note,
    answer=ChangeOut,
    conflict=True,
    summary="The approved change's work begins; its subscribers are told",
)
def start(call: Call) -> ChangeOut:
    return change_out(call.desk.start_change(call.id("cid")))


@operation(
    "POST",
    "/changes/{cid}/complete",
    scope="agent",
    body=Note,
    answer=ChangeOut,
    conflict=True,
    summary="The change's work is done; its subscribers are told",
)
def complete(call: Call) -> ChangeOut:
    b: Note = call.body
    return change_out(call.desk.complete_change(call.id("cid"), b.note))


@operation(
    "POST",
    "/changes/{cid}/cancel",
    scope="agent",
    body=Note,
    answer=ChangeOut,
    conflict=True,
    summary="Call off a proposed or approved change; subscribers told of it hear so",
)
def cancel(call: Call) -> ChangeOut:
    b: Note = call.body
    return change_out(call.desk.cancel_change(call.id("cid"), b.note))
