"""Reviews: a customer reviews the service of their fulfilled demand; colleagues read a service's reviews."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec

from .routing import Call, Text, operation
from .shapes import ReviewOut, review_out


@attrs.frozen(kw_only=True)
class ReviewSubmission:
    customer: Annotated[Text, msgspec.Meta(description="the demand's customer; anyone else gets 404")]
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    text: Annotated[str, msgspec.Meta(description="at most the deployment's review_max_chars (default 1,000)")] = ""
    anonymous: Annotated[bool, msgspec.Meta(description="colleagues see 'a colleague'; the desk sees who")] = False
    channel: str = "api"


@attrs.frozen(kw_only=True)
class ReviewQuery:
    hidden: Annotated[
        bool, msgspec.Meta(description="true to add the reviews the desk hid, with who hid them and why (agent)")
    ] = False


@attrs.frozen(kw_only=True)
class ServiceReviews:
    service: str
    average: float | None
    count: int
    reviews: list[ReviewOut]


@operation(
    "POST",
    "/demands/{did}/review",
    scope="write",
    body=ReviewSubmission,
    answer=ReviewOut,
    status=201,
    conflict=True,
    summary="Review the service of a fulfilled (or closed) value demand, once, as its customer",
)
def review(call: Call) -> ReviewOut:
    b: ReviewSubmission = call.body
    written = call.desk.review(
        call.id("did"), b.customer, b.rating, b.text, anonymous=b.anonymous, channel=b.channel or "api"
    )
    return review_out(written, desk_view=True)


@operation(
    "GET",
    "/services/{key}/reviews",
    scope="read",
    query=ReviewQuery,
    answer=ServiceReviews,
    summary="A service's average rating, count and reviews, newest first",
    scope_note="Needs the `read` scope, and `agent` too for `hidden=true`.",
)
def service_reviews(call: Call) -> ServiceReviews:
    q: ReviewQuery = call.query
    key = call.path["key"]
    call.desk.get_service(key)  # UnknownService: 404
    if q.hidden:
        call.need("agent")  # hidden reviews, with who hid them and why: the desk's view
    summary = call.desk.review_summary(key, recent=0)
    found = call.desk.reviews(key, include_hidden=q.hidden, limit=200)
    return ServiceReviews(
        service=key,
        average=summary.average,
        count=summary.count,
        reviews=[review_out(r, desk_view=q.hidden) for r in found],
    )
