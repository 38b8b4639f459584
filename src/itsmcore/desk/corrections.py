"""Corrections: a step asked the customer to correct an answer; their correction runs the step again.

A step that raises :class:`~itsmcore.components.NeedsCustomer` ends done, its result
naming the ask to correct, and the demand waits for "your corrected ...". The
correction (from the portal, the API, an agent, or a customer's reply that is a valid
answer) is checked like the answer at intake, written, and the same step is queued
again with a fresh idempotency key: the request it sends is a different one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from ..asks import validate_answers
from ..errors import Conflict, InvalidAnswers
from ..logs import log_context
from ..model import Actor, Demand, DemandState, Stage
from ..model.job import Job
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .demands import Demands
from .fulfilment import Fulfilment
from .journey import Journey
from .outbox import Outbox


class Corrections:
    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        demands: Demands,
        journey: Journey,
        outbox: Outbox,
        fulfilment: Fulfilment,
    ):
        self.ctx = ctx
        self.customers = customers
        self.demands = demands
        self.journey = journey
        self.outbox = outbox
        self.fulfilment = fulfilment

    def waiting_step(self, demand: Demand) -> Job | None:
        """The step that asked this demand's customer for a correction, if the demand still waits for it."""
        if demand.state != DemandState.IN_FULFILMENT:
            return None
        with self.ctx.engine.connect() as conn:
            row = conn.execute(
                select(t.jobs)
                .where(t.jobs.c.demand_id == demand.id, t.jobs.c.step >= 0)
                .order_by(t.jobs.c.id.desc())
                .limit(1)
            ).first()
        job = rows.job(row) if row else None
        if job is None or job.state != "done" or "needs_customer" not in (job.result or {}):
            return None
        return job

    def corrected(
        self,
        demand_id: int,
        answers: Mapping[str, Any],
        *,
        actor: str = Actor.CUSTOMER,
        channel: str | None = None,
    ) -> Demand:
        """Take the corrected answers and run the step that asked for them again.

        Conflict unless the demand waits for a correction; InvalidAnswers, as at intake,
        when a corrected answer cannot be used either.
        """
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            job = self.waiting_step(demand)
            svc = self.ctx.services.get(demand.service_key or "")
            if job is None or svc is None:
                raise Conflict(
                    f"demand {demand_id} is not waiting for the customer to correct an answer",
                    state=str(demand.state),
                    allowed=demand.allowed_next(),
                )
            field = str((job.result or {}).get("needs_customer") or "")
            if field and not answers.get(field):
                raise InvalidAnswers({field: f"Please give the right {self.fulfilment.field_words(demand, field)}."})
            customer = self.customers.get(demand.customer_id)
            clean = validate_answers(
                svc, {**demand.answers, **answers}, customer, self.customers.configuration_items(customer.id)
            )
            what = self.fulfilment.field_words(demand, field) if field else "details"
            now = self.ctx.clock()
            with self.journey.begin() as change:
                change.conn.execute(
                    update(t.demands).where(t.demands.c.id == demand.id).values(answers=clean, updated_at=now)
                )
                change.record(
                    demand,
                    stage=Stage.FULFIL,
                    waiting_for=None,
                    channel=channel,
                    actor=actor,
                    customer_sees=f"Thank you. We are trying again with your corrected {what}.",
                    behind_scenes=f"{', '.join(sorted(answers))} corrected by {actor}; step {job.step + 1} "
                    f"({job.action}) runs again",
                    effort=len(answers) if actor == Actor.CUSTOMER else 0,
                    kind="corrected",
                    at=now,
                )
                row = self.outbox.step_row(demand.id, svc, job.step, now)
                row["key"] = f"{row['key']}:corrected:{job.id}"  # a new request: a fresh idempotency key
                jid = self.outbox.add(change.conn, row)
            self.outbox.wake([jid])
            return self.demands.get(demand.id)

    def from_reply(self, demand_id: int, text: str, *, channel: str | None = None) -> bool:
        """A customer's comment on a demand waiting for one answer: taken as that answer when it is a valid one.

        Returns whether it was; a reply that is not (a question, a sentence) stays a comment
        for the service desk to read.
        """
        demand = self.demands.get(demand_id)
        job = self.waiting_step(demand)
        field = str(((job.result or {}) if job else {}).get("needs_customer") or "")
        if not field or not text.strip() or "\n" in text.strip():
            return False
        try:
            self.corrected(demand_id, {field: text.strip()}, channel=channel)
        except (InvalidAnswers, Conflict):
            return False
        return True
