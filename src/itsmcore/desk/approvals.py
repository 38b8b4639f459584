"""Approvals: a plan step waits for someone's yes; they approve or reject it."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import Conflict, Forbidden
from ..logs import log_context
from ..model import Actor, Demand, DemandState, Stage
from ..model.job import Job
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .demands import Demands
from .fulfilment import Fulfilment
from .handling import Handling
from .journey import Journey
from .outbox import Outbox


class Approvals:
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

    def approve(self, demand_id: int, approver: str, note: str = "") -> Demand:
        """An approver says yes: the plan carries on from the step after the approval."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            job = self.check_approver(demand, approver)
            who = self.customers.display(approver)
            with self.journey.begin() as change:
                change.record(
                    demand,
                    state=DemandState.IN_FULFILMENT,
                    stage=Stage.FULFIL,
                    waiting_for=None,
                    actor=Actor.AGENT,
                    customer_sees=f"{who} approved your request." + (f" {note}" if note else ""),
                    behind_scenes=f"approved by {approver}",
                    kind="approved",
                )
                ids = self.fulfilment.after_step(
                    change, change.demand(demand_id), job.step if job else -1, self.ctx.clock()
                )
            self.outbox.wake(ids)
            return self.demands.get(demand_id)

    def reject(self, demand_id: int, approver: str, reason: str) -> Demand:
        """An approver says no, with a reason the customer is told."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            self.check_approver(demand, approver)
            who = self.customers.display(approver)
            with self.journey.begin() as change:
                Handling.move(
                    change,
                    demand,
                    DemandState.REJECTED,
                    actor=Actor.AGENT,
                    stage=Stage.OUTCOME,
                    customer_sees=f"{who} did not approve your request: {reason}",
                    behind_scenes=f"rejected by {approver}",
                )
                jid = self.outbox.notify(
                    change.conn,
                    demand_id,
                    purpose="outcome",
                    subject=f"#{demand_id}: not approved",
                    body=f"{who} did not approve your request for {demand.summary}: {reason}",
                    now=self.ctx.clock(),
                )
            self.outbox.wake([jid])
            return change.demands()[demand_id]

    def check_approver(self, demand: Demand, approver: str) -> Job | None:
        """The step waiting for approval; Conflict unless the demand waits, Forbidden for anyone but its approver."""
        if demand.state != DemandState.AWAITING_APPROVAL:
            raise Conflict(
                f"demand {demand.id} is {demand.state}, not awaiting approval",
                state=str(demand.state),
                allowed=demand.allowed_next(),
            )
        job = self.waiting_job(demand.id)
        expected = (job.result or {}).get("approver") if job else None
        if expected and approver != expected:
            raise Forbidden(f"demand {demand.id} waits for {expected}, not {approver}")
        return job

    def waiting_job(self, demand_id: int) -> Job | None:
        """The last plan step that finished: the one whose result names the approver."""
        with self.ctx.engine.connect() as conn:
            row = conn.execute(
                select(t.jobs)
                .where(t.jobs.c.demand_id == demand_id, t.jobs.c.state == "done", t.jobs.c.step >= 0)
                .order_by(t.jobs.c.step.desc())
                .limit(1)
            ).first()
        return rows.job(row) if row else None
