"""Fulfilment: what a finished or failed job means for its demand, and the plan's progression.

Called by job execution inside the transaction that ends the job, so the job's end,
the demand's journey and the next step are one commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from ..components import ActionResult
from ..model import Actor, Demand, DemandKind, DemandState, Stage
from ..model.job import Job
from ..store import tables as t
from .context import KEEP, Context
from .journey import Change
from .outbox import Outbox
from .subscriptions import Subscriptions

_SELECT_OUTPUTS = select(t.demands.c.outputs).where(t.demands.c.id == bindparam("b_id"))


class Fulfilment:
    def __init__(self, ctx: Context, outbox: Outbox, subscriptions: Subscriptions):
        self.ctx = ctx
        self.outbox = outbox
        self.subscriptions = subscriptions

    def job_done(self, change: Change, job: Job, result: ActionResult, actor: str, now: datetime) -> list[int]:
        """Record what a done job did for its demand; returns the ids of the jobs it queued."""
        assert job.demand_id is not None
        if result.outputs:
            current = change.conn.execute(_SELECT_OUTPUTS, {"b_id": job.demand_id}).scalar_one()
            change.conn.execute(
                update(t.demands)
                .where(t.demands.c.id == job.demand_id)
                .values(outputs={**(current or {}), **result.outputs}, updated_at=now)
            )
        if job.step < 0:  # a notification: it happened where the demand is
            if result.customer_sees or result.behind_scenes:
                change.note(
                    job.demand_id,
                    channel=result.channel,
                    actor=actor,
                    customer_sees=result.customer_sees,
                    behind_scenes=result.behind_scenes,
                    kind="notification",
                    at=now,
                )
            return []
        demand = change.demand(job.demand_id)
        if demand.state != DemandState.IN_FULFILMENT:
            # moved meanwhile (cancelled by an agent, say): the step is on record, the plan stops here
            change.record(
                demand,
                channel=result.channel or demand.channel,
                actor=actor,
                behind_scenes=f"step {job.step + 1} ({job.action}) finished after the demand became {demand.state};"
                " the plan does not go on" + (f": {result.behind_scenes}" if result.behind_scenes else ""),
                kind="step",
                at=now,
            )
            return []
        ids: list[int] = []
        if result.customer_sees or result.behind_scenes or result.wait_for:
            change.record(
                demand,
                stage=Stage.FULFIL,
                state=DemandState.AWAITING_APPROVAL if result.wait_for else None,
                waiting_for=result.wait_for if result.wait_for else KEEP,
                channel=result.channel or demand.channel,
                actor=actor,
                customer_sees=result.customer_sees,
                behind_scenes=result.behind_scenes or (f"waiting for {result.wait_for}" if result.wait_for else ""),
                kind="step",
                at=now,
            )
        if result.notify and result.customer_sees:
            ids.append(
                self.outbox.notify(
                    change.conn,
                    demand.id,
                    purpose="progress",
                    subject=f"#{demand.id}: {demand.summary}",
                    body=result.customer_sees,
                    links=result.links,
                    now=now,
                    key=f"{job.key}:progress",
                )
            )
        if not result.wait_for:
            ids.extend(self.after_step(change, change.demand(demand.id), job.step, now))
        return ids

    def after_step(self, change: Change, demand: Demand, step: int, now: datetime) -> list[int]:
        """Queue the next plan step, or finish the request when the plan is done."""
        svc = self.ctx.services.get(demand.service_key or "")
        if svc is not None and step + 1 < len(svc.plan):
            return [self.outbox.add(change.conn, self.outbox.step_row(demand.id, svc, step + 1, now))]
        name = svc.name if svc else demand.summary
        links = svc.quick_start if svc else ()
        text = f"{name} is ready for you." + (" Get started:" if links else "")
        change.record(
            demand,
            state=DemandState.FULFILLED,
            stage=Stage.OUTCOME,
            waiting_for=None,
            actor=Actor.SYSTEM,
            customer_sees=text + "".join(f" {link.title}: {link.url}" for link in links),
            behind_scenes=f"plan of {len(svc.plan) if svc else 0} steps complete; demand fulfilled",
            kind="outcome",
            at=now,
        )
        if svc is not None:
            self.subscriptions.put(change.conn, svc.key, {demand.customer_id: "fulfilled"}, now)
        return [
            self.outbox.notify(
                change.conn,
                demand.id,
                purpose="outcome",
                subject=f"{name} is ready (#{demand.id})",
                body=text,
                links=links,
                now=now,
                key=f"{self.ctx.name}:demand:{demand.id}:outcome",
            )
        ]

    def job_dead(self, change: Change, job: Job, error: str, now: datetime) -> None:
        """A job gave up: the demand says so, and a request whose step died is stuck until someone retries."""
        assert job.demand_id is not None
        demand = change.demand(job.demand_id)
        stuck = demand.kind == DemandKind.VALUE and DemandState.STUCK in demand.allowed_next()
        extra: dict[str, Any] = {}
        if stuck:
            extra = {"state": DemandState.STUCK, "waiting_for": f"the service desk ({job.action} failed)"}
        change.record(
            demand,
            actor=Actor.SYSTEM,
            customer_sees="Something went wrong on our side. The service desk has been told and is looking at it."
            if job.step >= 0
            else "",
            behind_scenes=f"job {job.id} ({job.action}) dead after {job.attempts} attempt(s): {error}",
            kind="job_dead",
            at=now,
            **extra,
        )

    def job_retried(self, change: Change, job: Job, now: datetime) -> None:
        """An operator gave a dead job another go: a stuck request resumes."""
        assert job.demand_id is not None
        demand = change.demand(job.demand_id)
        if demand.state != DemandState.STUCK:
            return
        change.record(
            demand,
            state=DemandState.IN_FULFILMENT,
            stage=Stage.FULFIL,
            waiting_for=None,
            actor=Actor.AGENT,
            customer_sees="We are trying again.",
            behind_scenes=f"job {job.id} ({job.action}) retried by an operator",
            kind="retry",
            at=now,
        )
