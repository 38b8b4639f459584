"""Customers: search, show, one view of each (profile), their demands, subscriptions and preferences."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
import msgspec
from itsmcore import Customer, languages

from ..languages import LOCALE_DIR
from .demands import Limit
from .routing import Call, Text, operation
from .shapes import DemandOut, demand_out, when


@attrs.frozen(kw_only=True)
class CustomerQuery:
    q: Annotated[
        str, msgspec.Meta(description="words starting the name, login or email, or a phone number's digits (2+)")
    ] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=50, description="at most this many (1-50)")] = 20


@attrs.frozen(kw_only=True)
class CustomerOut:
    """A customer as the directory describes them."""

    id: str
    name: str
    email: str | None
    mobile: str | None
    role: str | None
    department: str | None
    groups: list[str]
    manager: str | None
    preferred_channels: list[str]


@attrs.frozen(kw_only=True)
class CustomerList:
    customers: list[CustomerOut]


@attrs.frozen(kw_only=True)
class CustomerDemandQuery:
    open: Annotated[bool, msgspec.Meta(description="true for demands not finished only")] = False
    limit: Limit = 100


@attrs.frozen(kw_only=True)
class CustomerDemands:
    """The customer's demands, newest first."""

    demands: list[DemandOut]


@attrs.frozen(kw_only=True)
class Subscriptions:
    """The services (their keys) whose announcements the customer hears about."""

    customer: str
    services: list[str]


@attrs.frozen(kw_only=True)
class Subscription:
    service: Annotated[Text, msgspec.Meta(description="the service's key")]


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.id,
        name=c.name,
        email=c.email,
        mobile=c.mobile,
        role=c.role,
        department=c.department,
        groups=list(c.groups),
        manager=c.manager,
        preferred_channels=list(c.preferred_channels),
    )


@operation("GET", "/customers", scope="agent", query=CustomerQuery, answer=CustomerList, summary="Search customers")
def search_customers(call: Call) -> CustomerList:
    q: CustomerQuery = call.query
    """The desk's customer search (an index: fast with 100,000 customers); 422 for fewer than two letters or digits."""
    found = call.desk.search_customers(q.q, limit=q.limit)
    return CustomerList(customers=[customer_out(call.desk.get_customer(m.id)) for m in found])


@operation("GET", "/customers/{cid}", scope="agent", answer=CustomerOut, summary="A customer")
def read_customer(call: Call) -> CustomerOut:
    return customer_out(call.desk.get_customer(call.path["cid"]))


@operation(
    "GET",
    "/customers/{cid}/demands",
    scope="read",
    query=CustomerDemandQuery,
    answer=CustomerDemands,
    summary="A customer's demands, newest first",
)
def customer_demands(call: Call) -> CustomerDemands:
    q: CustomerDemandQuery = call.query
    cid = call.path["cid"]
    call.desk.get_customer(cid)  # UnknownCustomer: 404
    found = call.desk.list_demands(customer=cid, open_only=q.open, limit=q.limit)
    return CustomerDemands(demands=[demand_out(d, call.desk.customer_status(d)) for d in found])


@operation(
    "GET",
    "/customers/{cid}/subscriptions",
    scope="read",
    answer=Subscriptions,
    summary="The services whose announcements a customer hears about",
)
def subscriptions(call: Call) -> Subscriptions:
    cid = call.path["cid"]
    return Subscriptions(customer=cid, services=call.desk.subscriptions_of(cid))


@operation(
    "POST",
    "/customers/{cid}/subscriptions",
    scope="write",
    body=Subscription,
    answer=Subscriptions,
    summary="Subscribe a customer to a service's announcements",
)
def subscribe(call: Call) -> Subscriptions:
    b: Subscription = call.body
    cid = call.path["cid"]
    call.desk.subscribe(cid, b.service)
    return Subscriptions(customer=cid, services=call.desk.subscriptions_of(cid))


@operation(
    "DELETE",
    "/customers/{cid}/subscriptions/{key}",
    scope="write",
    answer=Subscriptions,
    summary="Unsubscribe a customer from a service's announcements (remembered: the CMDB does not add them back)",
)
def unsubscribe(call: Call) -> Subscriptions:
    cid, key = call.path["cid"], call.path["key"]
    call.desk.get_customer(cid)
    call.desk.get_service(key)
    call.desk.unsubscribe(cid, key)
    return Subscriptions(customer=cid, services=call.desk.subscriptions_of(cid))


@attrs.frozen(kw_only=True)
class PreferencesOut:
    """How the customer wants to be contacted: their stored choices (``source`` customer) over the directory's.

    ``language`` is the one messages and pages use; ``languages`` those the deployment has catalogs for
    (the ones to offer; any other locale Babel knows is accepted, with English words in its formats).
    """

    customer: str
    channels: list[str]
    offered: list[str]
    quiet_hours: str | None
    language: str
    languages: list[str]
    surveys: bool
    source: str
    updated_at: str | None
    updated_by: str | None


@attrs.frozen(kw_only=True)
class PreferencesChange:
    """Only what is given changes; ``quiet_hours`` "" clears them. Recorded with the token's name as who changed it."""

    channels: Annotated[list[str] | None, msgspec.Meta(description="in order; from the offered ones")] = None
    quiet_hours: Annotated[str | None, msgspec.Meta(description="HH:MM-HH:MM, e.g. 22:00-07:00")] = None
    time_zone: Annotated[str | None, msgspec.Meta(description="of the quiet hours, e.g. Europe/Paris")] = None
    language: Annotated[str | None, msgspec.Meta(description="a locale code: en, fr, de_CH")] = None
    surveys: bool | None = None


@attrs.frozen(kw_only=True)
class ProfileDemand:
    id: int
    kind: str
    summary: str
    service: str | None
    channel: str
    state: str
    status: str
    created_at: str


@attrs.frozen(kw_only=True)
class ProfileAnswer:
    method: str
    score: int
    comment: str
    demand: int | None
    service: str | None
    at: str


@attrs.frozen(kw_only=True)
class ProfileOut:
    """One view of a customer: the directory's entry, their services and demands on every channel with the sentence
    they read, the announcements affecting them, survey answers with the trend, reviews, and preferences."""

    customer: CustomerOut
    subscriptions: list[str]
    channels: dict[str, int]
    open_demands: list[ProfileDemand]
    recent_demands: list[ProfileDemand]
    announcements: list[int]
    survey_answers: list[ProfileAnswer]
    trend: str
    reviews: list[int]
    preferences: PreferencesOut


def preferences_out(call: Call, cid: str, p: Any) -> PreferencesOut:
    return PreferencesOut(
        customer=cid,
        channels=list(p.channels),
        offered=call.desk.offered_channels(cid),
        quiet_hours=str(p.quiet_hours) if p.quiet_hours else None,
        language=p.language,
        languages=languages((LOCALE_DIR,)),  # as the preferences page offers them
        surveys=p.surveys,
        source=p.source,
        updated_at=when(p.updated_at),
        updated_by=p.updated_by,
    )


def _profile_demand(d: Any) -> ProfileDemand:
    return ProfileDemand(
        id=d.id,
        kind=d.kind,
        summary=d.summary,
        service=d.service_key,
        channel=d.channel,
        state=d.state,
        status=d.status,
        created_at=d.created_at.isoformat(),
    )


@operation("GET", "/customers/{cid}/profile", scope="agent", answer=ProfileOut, summary="One view of a customer")
def profile(call: Call) -> ProfileOut:
    cid = call.path["cid"]
    p = call.desk.customer_profile(cid)
    return ProfileOut(
        customer=customer_out(p.customer),
        subscriptions=list(p.subscriptions),
        channels=dict(p.channels),
        open_demands=[_profile_demand(d) for d in p.open_demands],
        recent_demands=[_profile_demand(d) for d in p.recent_demands],
        announcements=[a.id for a in p.announcements],
        survey_answers=[
            ProfileAnswer(
                method=a.method,
                score=a.score,
                comment=a.comment,
                demand=a.demand_id,
                service=a.service_key,
                at=a.at.isoformat(),
            )
            for a in p.survey_answers
        ],
        trend=str(p.trend),
        reviews=[r.id for r in p.reviews],
        preferences=preferences_out(call, cid, p.preferences or call.desk.preferences(cid)),
    )


@operation(
    "GET", "/customers/{cid}/preferences", scope="agent", answer=PreferencesOut, summary="A customer's preferences"
)
def read_preferences(call: Call) -> PreferencesOut:
    cid = call.path["cid"]
    return preferences_out(call, cid, call.desk.preferences(cid))


@operation(
    "PATCH",
    "/customers/{cid}/preferences",
    scope="agent",
    body=PreferencesChange,
    answer=PreferencesOut,
    summary="Change a customer's preferences (422 names the offered channels, or a close time zone)",
)
def change_preferences(call: Call) -> PreferencesOut:
    b: PreferencesChange = call.body
    cid = call.path["cid"]
    p = call.desk.set_preferences(
        cid,
        by=call.actor,
        channels=b.channels,
        quiet_hours=b.quiet_hours,
        time_zone=b.time_zone,
        language=b.language,
        surveys=b.surveys,
    )
    call.portal.reader_languages.drop(cid)  # the customer's next page is in the language set here
    return preferences_out(call, cid, p)
