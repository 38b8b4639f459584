"""Reviews: the customer tells colleagues how a service was (the ultimate moment of truth, stage ``share``).

What peers say shapes the next person's expectations, so a review is taken only from
someone who has the outcome (their own value demand, fulfilled or closed), once per
demand, and kept as typed: the pages escape it. The desk may hide one (with who and
why); it is never deleted, so the desk can always see what was said.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidAnswers, NotFound
from ..model import (
    RATING_HIGH,
    RATING_LOW,
    Actor,
    DemandKind,
    DemandState,
    Review,
    ReviewSummary,
    Stage,
)
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .demands import Demands
from .journey import Journey

#: The states in which the customer has the outcome, so may tell colleagues about it.
REVIEWABLE = frozenset({DemandState.FULFILLED, DemandState.CLOSED})

_R = t.reviews.c


class Reviews:
    """Writing, hiding and reading reviews; each review is also a journey event at the ``share`` stage."""

    def __init__(self, ctx: Context, customers: Customers, demands: Demands, journey: Journey):
        self.ctx = ctx
        self.customers = customers
        self.demands = demands
        self.journey = journey

    @property
    def max_chars(self) -> int:
        """The longest review allowed (``[survey_rules] review_max_chars``)."""
        return max(1, self.ctx.config.survey_rules.review_max_chars)

    # ------------------------------------------------------------------ writing

    def review(
        self,
        demand_id: int,
        customer: str,
        rating: int,
        text: str = "",
        *,
        anonymous: bool = False,
        channel: str = "portal",
    ) -> Review:
        """Store the customer's review of the service behind their own fulfilled (or closed) value demand.

        NotFound when the demand is not theirs (as if it did not exist); InvalidAnswers for
        a rating outside 1-5 or a text over the limit; Conflict when the demand is not a
        fulfilled value demand or already has a review.
        """
        cust = self.customers.get(customer)
        demand = self.demands.get(demand_id)
        if demand.customer_id != cust.id:
            raise NotFound(f"unknown demand {demand_id}")
        errors = {}
        if isinstance(rating, bool) or not isinstance(rating, int) or not RATING_LOW <= rating <= RATING_HIGH:
            errors["rating"] = f"Choose a rating from {RATING_LOW} to {RATING_HIGH} stars."
        text = text.strip()
        if len(text) > self.max_chars:
            errors["text"] = f"A review can be at most {self.max_chars:,} characters; this one has {len(text):,}."
        if errors:
            raise InvalidAnswers(errors)
        if demand.kind != DemandKind.VALUE or not demand.service_key:
            raise Conflict("Only a request for a service can be reviewed.", state=str(demand.state))
        if demand.state not in REVIEWABLE:
            raise Conflict(
                "You can review this service once you have it.", state=str(demand.state), allowed=demand.allowed_next()
            )
        now = self.ctx.clock()
        try:
            with self.journey.begin() as change:
                now_state = change.demand(demand.id).state
                if now_state not in REVIEWABLE:  # reopened meanwhile
                    raise Conflict("You can review this service once you have it.", state=str(now_state))
                rid = change.conn.execute(
                    insert(t.reviews).values(
                        demand_id=demand.id,
                        service_key=demand.service_key,
                        customer_id=cust.id,
                        rating=rating,
                        text=text,
                        anonymous=anonymous,
                        hidden=False,
                        hidden_reason="",
                        at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                change.record(
                    demand.id,
                    stage=Stage.SHARE,
                    channel=channel,
                    actor=Actor.CUSTOMER,
                    customer_sees="Thank you for your review: colleagues can now read it.",
                    behind_scenes=f"review {rating}/{RATING_HIGH}"
                    + (" (anonymous to colleagues)" if anonymous else "")
                    + (f": {text[:200]}" if text else ""),
                    effort=1,
                    kind="review",
                    at=now,
                )
        except IntegrityError:  # the unique demand_id: reviewed already (perhaps a moment ago, elsewhere)
            raise Conflict("You have already reviewed this. Thank you!", state="reviewed") from None
        return self.get(rid)

    def hide(self, review_id: int, by: str, reason: str) -> Review:
        """Hide a review from colleagues, keeping it with who hid it and why; a note in the demand's journey says so.

        InvalidAnswers without a reason; Conflict when it is hidden already.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidAnswers({"reason": "Say why the review is hidden (the desk keeps it)."})
        review = self.get(review_id)
        with self.journey.begin() as change:
            done = change.conn.execute(
                update(t.reviews)
                .where(_R.id == review_id, _R.hidden.is_(False))
                .values(hidden=True, hidden_by=by, hidden_reason=reason[:2000])
            )
            if done.rowcount != 1:
                raise Conflict(f"review {review_id} is hidden already", state="hidden")
            change.record(
                review.demand_id,
                actor=by,
                behind_scenes=f"review hidden from colleagues by {by}: {reason[:200]}",
                kind="review_hidden",
            )
        return self.get(review_id)

    # ------------------------------------------------------------------ reading

    def get(self, review_id: int) -> Review:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(t.reviews).where(_R.id == review_id)).first()
        if row is None:
            raise NotFound(f"unknown review {review_id}")
        return self._reviews([row])[0]

    def of_demand(self, demand_id: int) -> Review | None:
        """The review of one demand, hidden or not (the customer's own, or the desk's view)."""
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(t.reviews).where(_R.demand_id == demand_id)).first()
        return self._reviews([row])[0] if row is not None else None

    def listing(self, service_key: str, *, include_hidden: bool = False, limit: int = 50) -> list[Review]:
        """A service's reviews, newest first: the visible ones (colleagues), or all of them (the desk)."""
        q = select(t.reviews).where(_R.service_key == service_key).order_by(_R.at.desc(), _R.id.desc()).limit(limit)
        if not include_hidden:
            q = q.where(_R.hidden.is_(False))
        with self.ctx.engine.connect() as conn:
            return self._reviews(conn.execute(q).all())

    def summary(self, service_key: str, *, recent: int = 5) -> ReviewSummary:
        """The average and count of a service's visible reviews, with the latest ``recent`` of them."""
        counted = self.summaries([service_key])[service_key]
        latest = self.listing(service_key, limit=recent) if counted.count and recent > 0 else []
        return ReviewSummary(service_key=service_key, count=counted.count, average=counted.average, recent=latest)

    def summaries(self, service_keys: Iterable[str]) -> dict[str, ReviewSummary]:
        """Average and count of visible reviews for each service, in one query (for search results)."""
        keys = list(dict.fromkeys(service_keys))
        out = {k: ReviewSummary(service_key=k) for k in keys}
        if not keys:
            return out
        q = (
            select(_R.service_key, func.count().label("n"), func.avg(_R.rating).label("avg"))
            .where(_R.service_key.in_(keys), _R.hidden.is_(False))
            .group_by(_R.service_key)
        )
        with self.ctx.engine.connect() as conn:
            for r in conn.execute(q):
                out[r.service_key] = ReviewSummary(service_key=r.service_key, count=int(r.n), average=float(r.avg))
        return out

    def rows_to_reviews(self, found: Iterable[Any]) -> list[Review]:
        """Rows of the ``reviews`` table as :class:`~itsmcore.model.Review`, with each author's name."""
        return self._reviews(found)

    def _reviews(self, found: Iterable[Any]) -> list[Review]:
        names: dict[str, str] = {}
        out = []
        for r in found:
            if r.customer_id not in names:
                names[r.customer_id] = self.customers.display(r.customer_id)
            out.append(
                Review(
                    id=r.id,
                    demand_id=r.demand_id,
                    service_key=r.service_key,
                    customer_id=r.customer_id,
                    author=names[r.customer_id],
                    rating=int(r.rating),
                    text=r.text,
                    anonymous=bool(r.anonymous),
                    hidden=bool(r.hidden),
                    hidden_by=r.hidden_by,
                    hidden_reason=r.hidden_reason or "",
                    at=rows.aware(r.at),  # type: ignore[arg-type]
                )
            )
        return out
