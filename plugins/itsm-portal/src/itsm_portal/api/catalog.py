"""The catalog: search it (saying whether a customer can have each service), a service, and eligibility."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec

from .routing import Call, Text, operation


@attrs.frozen(kw_only=True)
class CatalogQuery:
    q: Annotated[str, msgspec.Meta(description="what to look for")] = ""
    customer: Annotated[str | None, msgspec.Meta(description="say whether this customer can have each")] = None


@attrs.frozen(kw_only=True)
class CatalogHit:
    key: str
    name: str
    description: str
    kind: str
    eligible: bool
    reason: str
    next_step: str
    score: float


@attrs.frozen(kw_only=True)
class CatalogResults:
    query: str
    results: list[CatalogHit]


@attrs.frozen(kw_only=True)
class ServiceOut:
    """A service of the catalog, in the customer's words."""

    key: str
    name: str
    description: str
    category: str
    kind: str
    keywords: list[str]


@attrs.frozen(kw_only=True)
class EligibilityQuery:
    customer: Annotated[Text, msgspec.Meta(description="the customer (their id)")]


@attrs.frozen(kw_only=True)
class EligibilityOut:
    """Whether the customer may have the service; if not, why and what to do, in plain words."""

    service: str
    customer: str
    eligible: bool
    reason: str
    next_step: str


@operation("GET", "/catalog", scope="read", query=CatalogQuery, answer=CatalogResults, summary="Search the catalog")
def catalog(call: Call) -> CatalogResults:
    q: CatalogQuery = call.query
    hits = call.desk.search(q.q[:200], customer=q.customer, limit=20)
    return CatalogResults(
        query=q.q,
        results=[
            CatalogHit(
                key=h.service.key,
                name=h.service.name,
                description=h.service.description,
                kind=str(h.service.kind),
                eligible=h.eligible,
                reason=h.reason,
                next_step=h.next_step,
                score=float(h.score),
            )
            for h in hits
        ],
    )


@operation("GET", "/services/{key}", scope="read", answer=ServiceOut, summary="A service of the catalog")
def read_service(call: Call) -> ServiceOut:
    s = call.desk.get_service(call.path["key"])
    return ServiceOut(
        key=s.key,
        name=s.name,
        description=s.description,
        category=s.category,
        kind=str(s.kind),
        keywords=list(s.keywords),
    )


@operation(
    "GET",
    "/services/{key}/eligibility",
    scope="read",
    query=EligibilityQuery,
    answer=EligibilityOut,
    summary="Whether a customer may have a service, and if not what to do",
)
def eligibility(call: Call) -> EligibilityOut:
    q: EligibilityQuery = call.query
    service = call.desk.get_service(call.path["key"])
    customer = call.desk.get_customer(q.customer)
    decision = call.desk.eligibility(customer, service)
    return EligibilityOut(
        service=service.key,
        customer=customer.id,
        eligible=decision.eligible,
        reason=decision.reason,
        next_step=decision.next_step,
    )
