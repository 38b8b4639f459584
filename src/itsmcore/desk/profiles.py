"""One view of a customer (:class:`~itsmcore.model.CustomerProfile`), gathered from the directory and the store."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from ..model import CustomerProfile, Demand, DemandSummary, SurveyResponse, Trend
from ..store import tables as t
from ..store.rows import aware
from .announcements import Book
from .context import Context
from .customers import Customers
from .demands import Demands
from .preferences import PreferenceBook
from .reviews import Reviews

#: Finished demands shown beside the open ones, and survey answers and reviews listed.
RECENT = 10


class Profiles:
    def __init__(
        self, ctx: Context, customers: Customers, demands: Demands, book: Book, reviews: Reviews, prefs: PreferenceBook
    ):
        self.ctx = ctx
        self.prefs = prefs
        self.customers = customers
        self.demands = demands
        self.book = book
        self.reviews = reviews

    def profile(self, customer_id: str) -> CustomerProfile:
        """Raises :class:`~itsmcore.errors.UnknownCustomer` when no directory knows ``customer_id``."""
        c = self.customers.get(customer_id)
        manager = self.customers.find(c.manager) if c.manager else None
        # every open one (up to 50) and the latest others; split by what the customer reads, so a
        # request that is done but not yet confirmed counts as finished, as it does for them
        found = {d.id: d for d in self.demands.listing(customer=c.id, open_only=True, limit=50)}
        found |= {d.id: d for d in self.demands.listing(customer=c.id, limit=RECENT * 2)}
        summaries = [self._summary(found[i]) for i in sorted(found, reverse=True)]
        sub = t.subscriptions
        srv = t.survey_responses
        rev = t.reviews
        with self.ctx.engine.connect() as conn:
            subscriptions = conn.execute(
                select(sub.c.service_key)
                .where(sub.c.customer_id == c.id, sub.c.active.is_(True))
                .order_by(sub.c.service_key)
            ).scalars()
            channels = conn.execute(
                select(t.demands.c.channel, func.count())
                .where(t.demands.c.customer_id == c.id)
                .group_by(t.demands.c.channel)
                .order_by(func.count().desc(), t.demands.c.channel)
            ).all()
            answers = [
                SurveyResponse(
                    id=r.id,
                    method=r.method,
                    customer_id=r.customer_id,
                    score=r.score,
                    comment=r.comment or "",
                    demand_id=r.demand_id,
                    service_key=r.service_key,
                    channel=r.channel or "",
                    mode=r.mode,
                    at=aware(r.at) or r.at,
                )
                for r in conn.execute(
                    select(srv)
                    .where(srv.c.customer_id == c.id)
                    .order_by(srv.c.at.desc(), srv.c.id.desc())
                    .limit(RECENT)
                )
            ]
            review_rows = conn.execute(
                select(rev).where(rev.c.customer_id == c.id).order_by(rev.c.at.desc(), rev.c.id.desc()).limit(RECENT)
            ).all()
            subscribed = tuple(subscriptions)
        return CustomerProfile(
            customer=c,
            manager=manager,
            items=self.customers.configuration_items(c.id),
            subscriptions=subscribed,
            open_demands=[d for d in summaries if not d.finished],
            recent_demands=[d for d in summaries if d.finished][:RECENT],
            channels={ch: int(n) for ch, n in channels},
            announcements=self.book.for_customer(c.id),
            survey_answers=answers,
            trend=trend(answers),
            reviews=self.reviews.rows_to_reviews(review_rows),
            preferences=self.prefs.get(c),
        )

    def _summary(self, d: Demand) -> DemandSummary:
        status = self.ctx.desk.customer_status(d)
        return DemandSummary(
            id=d.id,
            kind=str(d.kind),
            summary=d.summary,
            service_key=d.service_key,
            channel=d.channel,
            state=str(d.state),
            status=status.text,
            created_at=d.created_at,
            finished=status.finished,
        )


def trend(answers: Sequence[SurveyResponse]) -> Trend:
    """The latest answer (``answers`` newest first) against the previous one of the same method."""
    if not answers:
        return Trend.NONE
    latest = answers[0]
    previous = next((a for a in answers[1:] if a.method == latest.method), None)
    if previous is None:
        return Trend.FIRST
    if latest.score == previous.score:
        return Trend.SAME
    return Trend.BETTER if latest.score > previous.score else Trend.WORSE
