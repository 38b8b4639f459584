"""Fulfilment: what a finished or failed job means for its demand, and the plan's progression.

Called by job execution inside the transaction that ends the job, so the job's end,
the demand's journey and the next step are one commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from ..components import ActionResult, NeedsCustomer
from ..model import Actor, Demand, DemandKind, DemandState, Service, Stage
from ..model.job import Job
from ..store import tables as t
from .context import KEEP, Context
from .journey import Change
from .outbox import Outbox
from .subscriptions import Subscriptions

_SELECT_OUTPUTS = select(t.demands.c.outputs).where(t.demands.c.id == bindparam("b_id"))

#: Called in the step's transaction when a step starts waiting for someone: (change, job, result, now) -> job ids.
WaitListener = Callable[[Change, Job, ActionResult, datetime], list[int]]
#: Called in the transaction that reaches a plan's task step: (change, demand, service, step, now) -> job ids.
TaskOpener = Callable[[Change, Demand, Service, int, datetime], list[int]]


class Fulfilment:
    def __init__(self, ctx: Context, outbox: Outbox, subscriptions: Subscriptions):
        self.ctx = ctx
        self.outbox = outbox
        self.subscriptions = subscriptions
        #: Features that act when a step starts waiting (approvals asks the approver); registered by the desk.
        self.wait_listeners: list[WaitListener] = []
        #: Opens a task for a step people do (the tasks feature); registered by the desk.
        self.task_opener: TaskOpener | None = None

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
        if result.wait_for:
            for listener in self.wait_listeners:
                ids.extend(listener(change, job, result, now))
        else:
            ids.extend(self.after_step(change, change.demand(demand.id), job.step, now))
        return ids

    def needs_customer(self, change: Change, job: Job, outcome: NeedsCustomer, actor: str, now: datetime) -> list[int]:
        """A step found something the customer must correct: the demand waits for them, and they are told what."""
        assert job.demand_id is not None
        demand = change.demand(job.demand_id)
        if demand.state != DemandState.IN_FULFILMENT:
            change.record(
                demand,
                actor=actor,
                behind_scenes=f"step {job.step + 1} ({job.action}) needs the customer ({outcome.message}) but the "
                f"demand became {demand.state} meanwhile; the plan does not go on",
                kind="step",
                at=now,
            )
            return []
        what = self.field_words(demand, outcome.field)
        told = f"{outcome.message} Please send us the right {what}: reply to this message, or add it to your request."
        change.record(
            demand,
            stage=Stage.FULFIL,
            waiting_for=f"your corrected {what}",
            actor=actor,
            customer_sees=told,
            behind_scenes=f"step {job.step + 1} ({job.action}) needs the customer to correct "
            f"{outcome.field or 'their request'}: {outcome.message}",
            kind="needs_customer",
            at=now,
        )
        return [
            self.outbox.notify(
                change.conn,
                demand.id,
                purpose="correction",
                subject=f"#{demand.id}: please check your {what}",
                body=told,
                now=now,
                key=f"{job.key}:needs_customer",
            )
        ]

    def field_words(self, demand: Demand, field: str) -> str:
        """An ask's label as the customer knows it ("mobile number"), for "please send the right ..."."""
        svc = self.ctx.services.get(demand.service_key or "")
        ask = next((a for a in svc.asks if a.name == field), None) if svc else None
        label = (ask.label if ask and ask.label else field.replace("_", " ")) or "details"
        label = label[0].lower() + label[1:]
        return label.removeprefix("your ")

    def after_step(self, change: Change, demand: Demand, step: int, now: datetime) -> list[int]:
        """Queue the next plan step, or finish the request when the plan is done."""
        svc = self.ctx.services.get(demand.service_key or "")
        if svc is not None and step + 1 < len(svc.plan):
            if svc.plan[step + 1].task is not None:
                assert self.task_opener is not None, "a plan with a task step needs the tasks feature"
                return self.task_opener(change, demand, svc, step + 1, now)
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
                key=f"{self.ctx.key_prefix}:demand:{demand.id}:outcome",
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
            customer_sees="Sorry, we hit a problem on our side. A person from the service desk is on it."
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
