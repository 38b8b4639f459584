"""Approvals: approve or reject a demand that waits for one, recorded under the token's name."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec

from .routing import Call, Text, operation
from .shapes import DemandOut, demand_out

OnBehalfOf = Annotated[
    str | None,
    msgspec.Meta(description="the approver the demand waits for (their customer id), when you record their decision"),
]


@attrs.frozen(kw_only=True)
class Approval:
    note: str = ""
    on_behalf_of: OnBehalfOf = None


@attrs.frozen(kw_only=True)
class Rejection:
    reason: Annotated[Text, msgspec.Meta(description="what the customer is told")]
    on_behalf_of: OnBehalfOf = None


@operation(
    "POST",
    "/demands/{did}/approve",
    scope="agent",
    body=Approval,
    answer=DemandOut,
    conflict=True,
    summary="Approve a demand that waits for approval: its plan carries on",
)
def approve(call: Call) -> DemandOut:
    """409 unless the demand awaits approval; 403 unless ``on_behalf_of`` is the approver it waits for."""
    b: Approval = call.body
    demand = call.desk.approve(call.id("did"), call.actor, b.note, on_behalf_of=b.on_behalf_of)
    return demand_out(demand, call.desk.customer_status(demand))


@operation(
    "POST",
    "/demands/{did}/reject",
    scope="agent",
    body=Rejection,
    answer=DemandOut,
    conflict=True,
    summary="Reject a demand that waits for approval, with the reason its customer is told",
)
def reject(call: Call) -> DemandOut:
    """Errors as for approve."""
    b: Rejection = call.body
    demand = call.desk.reject(call.id("did"), call.actor, b.reason, on_behalf_of=b.on_behalf_of)
    return demand_out(demand, call.desk.customer_status(demand))
