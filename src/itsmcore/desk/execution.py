"""Running jobs: a table of handlers filled by registration, and ending each job visibly.

The desk registers its own handlers (``notify``, an announcement's fan-out and
follow-up) here; a plugin's own kinds of job (``itsm_job_handlers``) are found in the
deployment, as is any other action: a plugin's fulfilment action. A job ends done, retried with backoff, or dead with its error, in one
transaction with what it did to its demand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
from sqlalchemy import bindparam, select, update

from ..components import ActionComponent, ActionRequest, ActionResult, AlreadyDone, NeedsCustomer, StepOutcome
from ..errors import Deferred, PermanentFailure, TemporaryFailure
from ..jobs import backoff, job_ended
from ..logs import log_context
from ..model import Actor, Demand
from ..model.job import Job, JobState
from ..store import tables as t
from ..structuring import CONVERTER
from .context import KEEP, Context, Keep
from .customers import Customers
from .delivery import INSERT_MESSAGE
from .demands import Demands
from .fulfilment import Fulfilment
from .journey import Journey
from .outbox import Outbox
from .queue import JobQueue
from .services import Catalog

log = logging.getLogger("itsmcore.desk")

#: A job handler: (job, its demand if the claim read it, else KEEP) -> (result, message row to keep or None).
Handler = Callable[[Job, "Demand | Keep | None"], tuple[ActionResult, "dict[str, Any] | None"]]

_JOB_DONE = (
    update(t.jobs)
    .where(t.jobs.c.id == bindparam("b_id"), t.jobs.c.state == "running")
    .values(
        state="done",
        finished_at=bindparam("b_now", type_=t.jobs.c.finished_at.type),
        result=bindparam("b_result", type_=t.jobs.c.result.type),
        lease_until=None,
        error=None,
    )
)


class Execution:
    def __init__(
        self,
        ctx: Context,
        queue: JobQueue,
        demands: Demands,
        customers: Customers,
        catalog: Catalog,
        journey: Journey,
        outbox: Outbox,
        fulfilment: Fulfilment,
    ):
        self.ctx = ctx
        self.queue = queue
        self.demands = demands
        self.customers = customers
        self.catalog = catalog
        self.journey = journey
        self.outbox = outbox
        self.fulfilment = fulfilment
        self._handlers: dict[str, Handler] = {}
        self._running = False

    def register(self, action: str, handler: Handler) -> None:
        """Run jobs of ``action`` (outside any plan: ``step < 0``) with ``handler``."""
        if action in self._handlers:
            raise ValueError(f"a handler for job action {action!r} is registered already")
        self._handlers[action] = handler

    def demand_of(self, job: Job, demand: Demand | Keep | None) -> Demand | None:
        """The job's demand: as the claim read it, else read now."""
        if isinstance(demand, Keep):
            return self.demands.get(job.demand_id) if job.demand_id is not None else None
        return demand

    def run_due(self, limit: int | None = None, *, batch: int = 50) -> int:
        """Run every job that is due now (jobs a job creates included); returns how many ran (see ``Desk.run_due_jobs``)."""
        if self._running:  # a job that queues jobs: the outer loop picks them up
            return 0
        self._running = True
        ran = 0
        try:
            while limit is None or ran < limit:
                claimed = self.queue.claim_due(batch if limit is None else min(batch, limit - ran))
                if not claimed:
                    break
                touched: set[int] = set()  # demands changed by this batch: their notify jobs re-read them
                for i, (job, demand) in enumerate(claimed):
                    if i and job.lease_until is not None and self.ctx.clock() >= job.lease_until:
                        self.queue.release([j.id for j, _ in claimed[i:]], job.lease_until)
                        break
                    job_ended(self.execute(job, KEEP if job.demand_id in touched else demand))
                    ran += 1
                    if job.demand_id is not None:
                        touched.add(job.demand_id)
        finally:
            self._running = False
        return ran

    def execute(self, job: Job, demand: Demand | Keep | None = KEEP) -> Job:
        """Run a claimed job and end it; ``demand`` is its demand when the claim read it already.

        Every line logged meanwhile (by the desk, the action's plugin, a library) carries
        the job's id, its demand's id and its action.
        """
        with log_context(job_id=job.id, demand_id=job.demand_id, action=job.action):
            message: dict[str, Any] | None = None
            result: ActionResult | StepOutcome
            try:
                handler = self._handlers.get(job.action) if job.step < 0 else None
                plugin = self.ctx.deployment.job_handler(job.action) if job.step < 0 and handler is None else None
                if handler is not None:
                    result, message = handler(job, demand)
                elif plugin is not None:  # a plugin's own kind of job (itsm_job_handlers)
                    result = plugin[1].run(job, self.ctx.desk) or ActionResult()
                else:
                    result = self._run_action(job)
            except StepOutcome as e:  # a foreseen ending, raised where the action learnt it
                result = e
            except Deferred as e:
                return self._deferred(job, e)
            except PermanentFailure as e:
                return self._failed(job, str(e), permanent=True)
            except TemporaryFailure as e:
                return self._failed(job, str(e), permanent=False, retry_after=e.retry_after)
            except Exception as e:  # an unexpected error may be transient: retry, then dead
                log.exception("job %s (%s) raised", job.id, job.action)
                return self._failed(job, f"{type(e).__name__}: {e}", permanent=False)
            if isinstance(result, AlreadyDone):
                result = ActionResult(
                    customer_sees=result.message,
                    behind_scenes=f"already done, nothing to do: {result.message}",
                    outputs=result.outputs,
                )
            elif isinstance(result, NeedsCustomer):
                if job.demand_id is None or job.step < 0:
                    return self._failed(job, f"needs the customer, outside a plan: {result.message}", permanent=True)
                return self._done(job, ActionResult(behind_scenes=result.message), message, needs=result)
            elif not isinstance(result, ActionResult):
                return self._failed(job, f"the action returned {type(result).__name__}, not a result", permanent=True)
            return self._done(job, result, message)

    def _action_component(self, name: str) -> ActionComponent:
        rec = self.ctx.deployment.action_record(name)
        if rec is None:
            raise PermanentFailure(f"no installed plugin provides the action {name!r}")
        return rec

    def _run_action(self, job: Job) -> ActionResult | StepOutcome:
        rec = self._action_component(job.action)
        params: Any = CONVERTER.structure(dict(job.params), rec.params) if rec.params is not None else None
        action = self.ctx.deployment.action(job.action)
        if job.demand_id is None:
            raise PermanentFailure("fulfilment jobs need a demand")
        demand = self.demands.get(job.demand_id)
        with self.ctx.engine.connect() as conn:
            outputs = conn.execute(select(t.demands.c.outputs).where(t.demands.c.id == demand.id)).scalar_one()
        request = ActionRequest(
            demand=demand,
            customer=self.customers.get(demand.customer_id),
            service=self.catalog.find(demand.service_key),
            params=params,
            idempotency_key=job.key,
            attempt=job.attempts,
            outputs=outputs or {},
            desk=self.ctx.desk,
        )
        return action.run(request)

    def _done(
        self,
        job: Job,
        result: ActionResult,
        message: dict[str, Any] | None = None,
        *,
        needs: NeedsCustomer | None = None,
    ) -> Job:
        """End a job as done with its events and follow-ups, in one transaction with the message it sent.

        With ``needs`` the step ran but found something the customer must correct: the
        demand waits for them instead of going on.
        """
        now = self.ctx.clock()
        ids: list[int] = []
        rec = self.ctx.deployment.action_record(job.action)
        actor = rec.plugin if rec is not None and rec.plugin != "builtin" else str(Actor.SYSTEM)
        stored = {
            "outputs": dict(result.outputs),
            "customer_sees": result.customer_sees,
            "wait_for": result.wait_for,
            **({"approver": result.outputs.get("approver")} if result.outputs.get("approver") else {}),
            **({"needs_customer": needs.field, "message": needs.message} if needs is not None else {}),
        }
        with self.journey.begin() as change:
            conn = change.conn
            if message is not None:  # sent already: kept even if our lease was lost meanwhile
                conn.execute(INSERT_MESSAGE, message)
            res = conn.execute(_JOB_DONE, {"b_id": job.id, "b_now": now, "b_result": stored})
            lost = res.rowcount != 1  # our lease expired and someone else took it over
            if not lost and job.demand_id is not None:
                if needs is not None:
                    ids = self.fulfilment.needs_customer(change, job, needs, actor, now)
                else:
                    ids = self.fulfilment.job_done(change, job, result, actor, now)
        if lost:
            return self.queue.job(job.id)
        done = attrs.evolve(job, state=JobState.DONE, finished_at=now, result=stored, lease_until=None, error=None)
        if self.ctx.host.implemented("itsm_job_finished"):
            self.ctx.host.job_finished(self.ctx.desk, done, self.ctx.on_error(job.demand_id))
        self.outbox.wake(ids)
        return done

    def _deferred(self, job: Job, wait: Deferred) -> Job:
        """Put a claimed job back to wait until ``wait.until``; the claim's attempt is given back."""
        running = (t.jobs.c.id == job.id, t.jobs.c.state == "running")
        values = {"state": "pending", "run_after": wait.until, "lease_until": None, "error": f"waiting: {wait}"}
        with self.ctx.engine.begin() as conn:
            conn.execute(update(t.jobs).where(*running).values(attempts=t.jobs.c.attempts - 1, **values))
        log.info("job %s (%s) waits until %s: %s", job.id, job.action, wait.until.isoformat(), wait)
        return self.queue.job(job.id)

    def _failed(self, job: Job, error: str, *, permanent: bool, retry_after: float | None = None) -> Job:
        now = self.ctx.clock()
        dead = permanent or job.attempts >= job.max_attempts
        with self.journey.begin() as change:
            running = (t.jobs.c.id == job.id, t.jobs.c.state == "running")
            if dead:
                values: dict[str, Any] = {"state": "dead", "finished_at": now}
            else:
                delay = timedelta(seconds=retry_after) if retry_after is not None else backoff(job.attempts)
                values = {"state": "pending", "run_after": now + delay}
            res = change.conn.execute(
                update(t.jobs).where(*running).values(error=error[:4000], lease_until=None, **values)
            )
            if res.rowcount == 1 and dead and job.demand_id is not None:
                self.fulfilment.job_dead(change, job, error, now)
        out = self.queue.job(job.id)
        if dead:
            log.error("job %s (%s) is dead: %s", job.id, job.action, error, extra={"demand_id": job.demand_id})
            self.ctx.host.job_finished(self.ctx.desk, out, self.ctx.on_error(job.demand_id))
        return out
