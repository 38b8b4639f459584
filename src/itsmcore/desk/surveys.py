"""Surveys: which method, when asking is allowed, the signed link, and storing an answer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import func, insert, select

from ..components import SurveyMethod
from ..config import did_you_mean
from ..errors import Conflict, InvalidAnswers, NotFound
from ..i18n import N_, later
from ..links import sign, verify
from ..model import Actor, Customer, Demand, Link, Stage, SurveyResponse
from ..model.job import Job
from ..store import tables as t
from .context import Context
from .customers import Customers
from .demands import Demands
from .journey import Journey
from .outbox import Outbox

#: What a customer is told when they answer a survey a second time.
_ANSWERED = "You have already answered this survey. Thank you!"


class Surveys:
    def __init__(self, ctx: Context, customers: Customers, demands: Demands, journey: Journey, outbox: Outbox):
        self.ctx = ctx
        self.customers = customers
        self.demands = demands
        self.journey = journey
        self.outbox = outbox
        # False when the customer asked not to be surveyed (their preferences): the desk plugs this in
        self.opted_in: Callable[[str], bool] = lambda _customer_id: True

    def method(self) -> tuple[str, SurveyMethod]:
        """The deployment's transactional survey method: its name and the method itself."""
        name = self.ctx.config.survey_rules.method
        return name, self.ctx.deployment.surveys()[name]

    def link(self, demand_id: int, customer_id: str) -> str:
        ttl = timedelta(days=self.ctx.config.survey_rules.link_days)
        token = sign(self.ctx.secret(), "survey", demand_id, customer_id, self.ctx.clock(), ttl)
        return f"{self.ctx.config.deployment.public_url.rstrip('/')}/survey/{token}"

    def links_for(self, job: Job, customer: Customer, demand: Demand | None) -> Sequence[Link]:
        """The link provider for a survey message (a notify job queued by :meth:`ask_for_feedback`)."""
        if job.params.get("survey") and demand is not None:
            return (Link(title=N_("Tell us how it went"), url=self.link(demand.id, customer.id)),)
        return ()

    def allowed(self, customer_id: str, demand: Demand | None = None) -> tuple[bool, str]:
        """Survey governance: one survey per period, none while still affected by an outage, none after self-help."""
        rules = self.ctx.config.survey_rules
        now = self.ctx.clock()
        if not self.opted_in(customer_id):
            return False, "the customer asked not to be surveyed"
        with self.ctx.engine.connect() as conn:
            recent = conn.execute(
                select(func.count())
                .select_from(t.messages)
                .where(
                    t.messages.c.customer_id == customer_id,
                    t.messages.c.purpose == "survey",
                    t.messages.c.at > now - timedelta(days=rules.period_days),
                )
            ).scalar_one()
            if recent:
                return False, f"already surveyed in the last {rules.period_days:g} days"
            affected = conn.execute(
                select(func.count())
                .select_from(t.announcement_customers.join(t.announcements))
                .where(
                    t.announcement_customers.c.customer_id == customer_id,
                    t.announcement_customers.c.affected.is_(True),
                    t.announcements.c.state == "open",
                )
            ).scalar_one()
            if affected:
                return False, "still affected by an open outage"
            if demand is not None:
                self_served = conn.execute(select(t.demands.c.self_service).where(t.demands.c.id == demand.id)).scalar()
                if self_served:
                    return False, "the customer solved it themselves"
        if rules.sample < 1.0 and demand is not None:
            h = int(hashlib.sha256(f"{self.ctx.name}:{demand.id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if h >= rules.sample:
                return False, f"not in the {rules.sample:.0%} sample"
        return True, ""

    def ask_for_feedback(self, demand_id: int) -> int | None:
        """After a confirmed outcome, send a transactional survey if the rules allow; returns the job id."""
        demand = self.demands.get(demand_id)
        ok, why = self.allowed(demand.customer_id, demand)
        if not ok:
            with self.journey.begin() as change:
                change.record(demand, behind_scenes=f"no survey: {why}", kind="survey_skipped")
            return None
        method = self.ctx.config.survey_rules.method
        question = getattr(self.ctx.deployment.surveys().get(method), "question", "How did we do?")
        with self.ctx.engine.begin() as conn:
            jid = self.outbox.notify(
                conn,
                demand_id,
                purpose="survey",
                subject=f"#{demand_id}: how did we do?",
                body=question,
                say={"subject": later("#{id}: how did we do?", id=demand_id), "text": later(question)},
                now=self.ctx.clock(),
                survey=True,
                key=f"{self.ctx.key_prefix}:demand:{demand_id}:survey",
            )
        self.outbox.wake([jid])
        return jid

    def asked(self, token: str) -> Demand:
        """The demand a survey link asks about, checked at once without changing anything.

        ``InvalidLink`` when tampered with or expired; Conflict when it was answered already.
        """
        claim = verify(self.ctx.secret(), token.rsplit("/", 1)[-1], self.ctx.clock(), purpose="survey")
        demand = self.demands.get(claim.target)
        if demand.customer_id != claim.customer_id:
            raise NotFound(f"unknown demand {claim.target}")
        with self.ctx.engine.connect() as conn:
            answered = conn.execute(
                select(t.survey_responses.c.id).where(
                    t.survey_responses.c.demand_id == demand.id,
                    t.survey_responses.c.method == self.ctx.config.survey_rules.method,
                )
            ).scalar()
        if answered:
            raise Conflict(_ANSWERED, state="answered")
        return demand

    def answer(
        self,
        score: int,
        *,
        customer: str | None = None,
        method: str | None = None,
        comment: str = "",
        demand_id: int | None = None,
        token: str | None = None,
        channel: str = "portal",
        mode: str = "transactional",
    ) -> SurveyResponse:
        """Store a survey answer, validated against the method's scale (out of scale is refused, never counted)."""
        if token is not None:
            claim = verify(self.ctx.secret(), token.rsplit("/", 1)[-1], self.ctx.clock(), purpose="survey")
            customer, demand_id = claim.customer_id, claim.target
        if customer is None:
            raise InvalidAnswers({"customer": "who answered?"})
        cust = self.customers.get(customer)
        name = method or self.ctx.config.survey_rules.method
        methods = self.ctx.deployment.surveys()
        if name not in methods:
            raise InvalidAnswers({"method": f"unknown survey method {name!r}; {did_you_mean(name, methods)}"})
        m = methods[name]
        if isinstance(score, bool) or not isinstance(score, int) or not m.low <= score <= m.high:
            raise InvalidAnswers({"score": f"{name.upper()} answers are whole numbers from {m.low} to {m.high}"})
        demand = self.demands.get(demand_id) if demand_id is not None else None
        if demand is not None and demand.customer_id != cust.id:
            raise NotFound(f"unknown demand {demand_id}")
        if mode not in ("transactional", "tracker"):
            raise InvalidAnswers({"mode": "transactional or tracker"})
        now = self.ctx.clock()
        with self.journey.begin() as change:
            conn = change.conn
            if demand is not None:
                dup = conn.execute(
                    select(t.survey_responses.c.id).where(
                        t.survey_responses.c.demand_id == demand.id, t.survey_responses.c.method == name
                    )
                ).scalar()
                if dup:
                    raise Conflict(_ANSWERED, state="answered")
            rid = conn.execute(
                insert(t.survey_responses).values(
                    method=name,
                    customer_id=cust.id,
                    score=score,
                    comment=comment[:4000],
                    demand_id=demand.id if demand else None,
                    service_key=demand.service_key if demand else None,
                    channel=channel,
                    mode=mode,
                    at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if demand is not None:
                change.record(
                    demand,
                    stage=Stage.FEEDBACK,
                    channel=channel,
                    actor=Actor.CUSTOMER,
                    customer_sees=f"You gave us {score} out of {m.high}. Thank you for telling us how it went.",
                    behind_scenes=f"{name} answer {score} ({m.category(score)})"
                    + (f": {comment[:200]}" if comment else ""),
                    effort=1,
                    kind="survey",
                    at=now,
                )
            response = SurveyResponse(
                id=rid,
                method=name,
                customer_id=cust.id,
                score=score,
                comment=comment,
                demand_id=demand.id if demand else None,
                service_key=demand.service_key if demand else None,
                channel=channel,
                mode=mode,
                at=now,
            )
            on_error = self.ctx.on_error(demand.id if demand else None)
            change.after(lambda: self.ctx.host.survey_answered(self.ctx.desk, response, on_error))
        return response
