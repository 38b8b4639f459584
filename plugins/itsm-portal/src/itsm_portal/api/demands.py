"""Demands: list (filters, cursor pages), submit, show, journey, transition, resolve, advance, comment.

Assigning a demand is one more declaration here when the desk has the method: a body
class, then ``@operation("POST", "/demands/{did}/assign", scope="agent", body=Assignment,
answer=DemandOut, conflict=True, summary=...)`` over ``Desk.assign``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

import attrs
import msgspec
from itsmcore import Actor, DemandState, InvalidAnswers, Stage

from .pages import make_cursor, read_cursor
from .routing import Answered, Call, Text, operation
from .shapes import DemandDetail, DemandOut, EventOut, LinkOut, demand_detail, demand_out, event_out

Kind = Literal["value", "failure", "information"]
if TYPE_CHECKING:
    StateName = str
    StageName = str
else:  # the core's names, so the document lists them and a wrong one is refused naming them
    StateName = Literal[tuple(str(s) for s in DemandState)]
    StageName = Literal[tuple(str(s) for s in Stage)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=500, description="at most this many (1-500)")]


@attrs.frozen(kw_only=True)
class DemandQuery:
    customer: Annotated[str | None, msgspec.Meta(description="only this customer's (their id)")] = None
    kind: Kind | None = None
    state: StateName | None = None
    service: Annotated[str | None, msgspec.Meta(description="only demands for this service (its key)")] = None
    open: Annotated[bool, msgspec.Meta(description="true for demands not finished only")] = False
    limit: Limit = 100
    cursor: Annotated[str | None, msgspec.Meta(description="the next_cursor of the page before")] = None


@attrs.frozen(kw_only=True)
class DemandPage:
    """A page of demands, newest first; ``next_cursor`` fetches the next page (null on the last)."""

    demands: list[DemandOut]
    next_cursor: str | None


@attrs.frozen(kw_only=True)
class NewDemand:
    """A demand to take in: ``customer`` says it; ``kind`` is worked out from the service or the words when left out."""

    customer: Text
    kind: Kind | None = None
    summary: str = ""
    service: str | None = None
    details: str = ""
    answers: dict[str, Any] = attrs.Factory(dict)
    channel: str = "api"
    actor: Annotated[
        str | None, msgspec.Meta(description="'customer' (the default) when the customer speaks through you")
    ] = None
    external_ref: Annotated[str | None, msgspec.Meta(description="your id for it: the same twice is taken once")] = None


@attrs.frozen(kw_only=True)
class Receipt:
    """The demand taken in, what the customer is told, and the links to give them; ``duplicate`` when seen before."""

    demand: DemandOut
    acknowledgement: str
    links: list[LinkOut]
    duplicate: bool


@attrs.frozen(kw_only=True)
class Journey:
    journey: list[EventOut]


@attrs.frozen(kw_only=True)
class Transition:
    """Move the demand to another state of its lifecycle; 409 with the allowed states otherwise."""

    state: StateName
    customer_sees: str = ""
    behind_scenes: str = ""
    channel: str | None = None


@attrs.frozen(kw_only=True)
class Resolution:
    resolution: Text


@attrs.frozen(kw_only=True)
class Advance:
    """Move the journey to ``stage`` (or, the older way, the demand to ``state``), with what the customer sees."""

    stage: StageName | None = None
    state: StateName | None = None
    customer_sees: str = ""
    behind_scenes: str = ""
    actor: str | None = None


@attrs.frozen(kw_only=True)
class Comment:
    """A comment: ``public`` (the default) is shown and sent to the customer; ``internal`` only the desk sees."""

    text: Text
    visibility: Literal["public", "internal"] = "public"
    actor: Annotated[
        str | None, msgspec.Meta(description="'customer' when the demand's customer speaks through you")
    ] = None
    channel: str | None = None


def _out(call: Call, demand: Any) -> DemandOut:
    return demand_out(demand, call.desk.customer_status(demand))


@operation(
    "GET",
    "/demands",
    scope="read",
    query=DemandQuery,
    answer=DemandPage,
    summary="List demands, newest first, a page at a time",
)
def list_demands(call: Call) -> DemandPage:
    """Filters combine; pass ``next_cursor`` back as ``cursor`` (with the same filters) for the next page."""
    q: DemandQuery = call.query
    filters = {"customer": q.customer, "kind": q.kind, "state": q.state, "service": q.service, "open": q.open}
    secret = call.desk.secret()
    before = read_cursor(secret, q.cursor, filters) if q.cursor else None
    found = call.desk.list_demands(
        customer=q.customer,
        kind=q.kind,
        state=q.state,
        service=q.service,
        open_only=q.open,
        limit=q.limit + 1,
        before=before,
    )
    page = found[: q.limit]
    more = len(found) > q.limit
    return DemandPage(
        demands=[_out(call, d) for d in page],
        next_cursor=make_cursor(secret, page[-1].id, filters) if more and page else None,
    )


@operation(
    "POST",
    "/demands",
    scope="write",
    body=NewDemand,
    answer=Receipt,
    status=201,
    also=(200,),
    summary="Submit a demand (200 with duplicate true when its external_ref was taken in before)",
)
def submit(call: Call) -> Any:
    """Recorded as said by the customer (``actor`` customer, the default) or by the token."""
    b: NewDemand = call.body
    receipt = call.desk.submit(
        b.kind,
        b.customer,
        b.summary,
        service=b.service or None,
        details=b.details,
        answers=b.answers,
        channel=b.channel or "api",
        actor=Actor.CUSTOMER if b.actor in (None, "", Actor.CUSTOMER) else call.actor,
        external_ref=b.external_ref or None,
    )
    out = Receipt(
        demand=_out(call, receipt.demand),
        acknowledgement=receipt.acknowledgement,
        links=[LinkOut(title=x.title, url=x.url) for x in receipt.links],
        duplicate=receipt.duplicate,
    )
    return Answered(out, 200) if receipt.duplicate else out


@operation("GET", "/demands/{did}", scope="read", answer=DemandDetail, summary="A demand with its journey")
def read_demand(call: Call) -> DemandDetail:
    view = call.desk.show(call.id("did"))
    return demand_detail(
        view.demand,
        call.desk.customer_status(view.demand),
        [event_out(e) for e in view.journey],
        json.loads(json.dumps(dict(view.outputs), default=str)),
    )


@operation("GET", "/demands/{did}/journey", scope="read", answer=Journey, summary="A demand's journey, oldest first")
def journey(call: Call) -> Journey:
    return Journey(journey=[event_out(e) for e in call.desk.journey(call.id("did"))])


@operation(
    "POST",
    "/demands/{did}/transition",
    scope="agent",
    body=Transition,
    answer=DemandOut,
    conflict=True,
    summary="Move a demand to another state (409 names the states allowed from where it is)",
)
def transition(call: Call) -> DemandOut:
    b: Transition = call.body
    demand = call.desk.transition(
        call.id("did"),
        b.state,
        actor=call.actor,
        channel=b.channel,
        customer_sees=b.customer_sees,
        behind_scenes=b.behind_scenes,
    )
    return _out(call, demand)


@operation(
    "POST",
    "/demands/{did}/resolve",
    scope="agent",
    body=Resolution,
    answer=DemandOut,
    conflict=True,
    summary="Resolve a demand (fulfil a request, answer a query) and tell its customer",
)
def resolve(call: Call) -> DemandOut:
    b: Resolution = call.body
    return _out(call, call.desk.resolve(call.id("did"), b.resolution, actor=call.actor))


@operation(
    "POST",
    "/demands/{did}/advance",
    scope="agent",
    body=Advance,
    answer=EventOut,
    status=201,
    conflict=True,
    summary="Move a demand's journey to a stage, with what its customer sees; answers the event recorded",
)
def advance(call: Call) -> EventOut:
    """With ``state`` (the older way; prefer the transition operation) the demand moves to that state."""
    b: Advance = call.body
    did = call.id("did")
    actor = Actor.CUSTOMER if b.actor == Actor.CUSTOMER else call.actor
    if b.state:
        call.desk.transition(did, b.state, actor=actor, customer_sees=b.customer_sees, behind_scenes=b.behind_scenes)
        return event_out(call.desk.journey(did)[-1])
    if not b.stage:
        raise InvalidAnswers({"stage": f"required; one of {', '.join(str(s) for s in Stage)}"})
    ev = call.desk.advance(did, b.stage, actor=actor, customer_sees=b.customer_sees, behind_scenes=b.behind_scenes)
    return event_out(ev)


@operation(
    "POST",
    "/demands/{did}/comments",
    scope=None,
    body=Comment,
    answer=EventOut,
    status=201,
    summary="Comment on a demand: public (the customer reads it) or internal (a note only the desk sees)",
    scope_note="Needs the `write` scope for `actor: customer` (the demand's customer speaks), `agent` otherwise "
    "(a reply or an internal note, recorded under the token's name).",
)
def comment(call: Call) -> EventOut:
    b: Comment = call.body
    did = call.id("did")
    as_customer = b.actor == Actor.CUSTOMER
    call.need("write" if as_customer and b.visibility == "public" else "agent")
    if b.visibility == "internal":
        if as_customer:
            raise InvalidAnswers({"visibility": "the customer's own comments are public"})
        ev = call.desk.record_event(did, actor=call.actor, channel=b.channel, behind_scenes=b.text[:4000])
        return event_out(ev)
    ev = call.desk.comment(
        did,
        b.text[:4000],
        actor=Actor.CUSTOMER if as_customer else call.actor,
        channel=b.channel,
        reply=not as_customer,
    )
    return event_out(ev)
