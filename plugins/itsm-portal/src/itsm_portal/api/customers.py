"""Customers: search, show, their demands and their subscriptions (subscribe, unsubscribe)."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec
from itsmcore import Customer

from .demands import Limit
from .routing import Call, Text, operation
from .shapes import DemandOut, demand_out


@attrs.frozen(kw_only=True)
class CustomerQuery:
    q: Annotated[str, msgspec.Meta(description="part of the id, name, email or department; all without it")] = ""
    limit: Limit = 50


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
    return CustomerList(customers=[customer_out(c) for c in call.desk.search_customers(q.q[:200], limit=q.limit)])


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
