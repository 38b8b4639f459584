"""Approvals: a plan step waits for someone's yes; they are asked, reminded, and approve or reject it.

When a step starts waiting for an approver, the approver is sent a message with signed
approve and decline links (in the transaction that ends the step), and a reminder is
queued for later. A link stands for one waiting step (its job id), so it works once: after
a decision, or once the demand has moved on, it says what happened and changes nothing.
No table records the use; the demand's state and its waiting step are the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import select

from ..components import ActionResult
from ..errors import Conflict, Forbidden, InvalidAnswers, NotFound
from ..i18n import N_
from ..links import ExpiredLink, InvalidLink, sign, verify
from ..logs import log_context
from ..model import Actor, Customer, Demand, DemandState, Identity, Link, Stage
from ..model.job import Job
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .delivery import Delivery
from .demands import Demands
from .fulfilment import Fulfilment
from .handling import Handling
from .journey import Change, Journey
from .outbox import Outbox, job_row, notify_params

#: The job that sends an approver their request, and later their reminder.
APPROVAL_MESSAGE = "itsm.approval_message"
#: What an approval link's signature stands for.
LINK_PURPOSE = "approval"


@attrs.frozen(kw_only=True)
class ApprovalAsk:
    """What an approval link asks, for the page that shows it: who asks, for what, of whom, until when."""

    demand: Demand
    customer: str
    approver: str
    approver_id: str
    what: str
    reason: str
    expires: datetime


class Approvals:
    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        demands: Demands,
        journey: Journey,
        outbox: Outbox,
        fulfilment: Fulfilment,
        delivery: Delivery,
    ):
        self.ctx = ctx
        self.customers = customers
        self.demands = demands
        self.journey = journey
        self.outbox = outbox
        self.fulfilment = fulfilment
        self.delivery = delivery

    # ------------------------------------------------------------------ deciding

    def approve(self, demand_id: int, approver: str, note: str = "", *, on_behalf_of: str | None = None) -> Demand:
        """An approver (or someone on their behalf) says yes: the plan carries on from the step after the approval."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            job = self.check_approver(demand, on_behalf_of or approver)
            return self._approve(demand, job, approver, note, on_behalf_of)

    def _approve(self, demand: Demand, job: Job | None, approver: str, note: str, on_behalf_of: str | None) -> Demand:
        who, behind = self._who(approver, on_behalf_of)
        by, for_ = self._people(approver, on_behalf_of)
        with self.journey.begin() as change:
            change.record(
                demand,
                state=DemandState.IN_FULFILMENT,
                stage=Stage.FULFIL,
                waiting_for=None,
                actor=Actor.AGENT,
                customer_sees=f"{who} approved your request." + (f" {note}" if note else ""),
                behind_scenes=f"approved by {behind}",
                kind="approved",
                by=by,
                on_behalf_of=for_,
            )
            ids = self.fulfilment.after_step(
                change, change.demand(demand.id), job.step if job else -1, self.ctx.clock()
            )
        self.outbox.wake(ids)
        return self.demands.get(demand.id)

    def reject(self, demand_id: int, approver: str, reason: str, *, on_behalf_of: str | None = None) -> Demand:
        """An approver (or someone on their behalf) says no, with a reason the customer is told."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            self.check_approver(demand, on_behalf_of or approver)
            return self._reject(demand, approver, reason, on_behalf_of)

    def _reject(self, demand: Demand, approver: str, reason: str, on_behalf_of: str | None) -> Demand:
        who, behind = self._who(approver, on_behalf_of)
        by, for_ = self._people(approver, on_behalf_of)
        with self.journey.begin() as change:
            Handling.move(
                change,
                demand,
                DemandState.REJECTED,
                actor=Actor.AGENT,
                stage=Stage.OUTCOME,
                customer_sees=f"{who} did not approve your request: {reason}",
                behind_scenes=f"rejected by {behind}",
                by=by,
                on_behalf_of=for_,
            )
            jid = self.outbox.notify(
                change.conn,
                demand.id,
                purpose="outcome",
                subject=f"#{demand.id}: not approved",
                body=f"{who} did not approve your request for {demand.summary}: {reason}",
                now=self.ctx.clock(),
            )
        self.outbox.wake([jid])
        return change.demands()[demand.id]

    def _people(self, approver: str, on_behalf_of: str | None) -> tuple[Identity, Identity | None]:
        """Who decided and, when they decided for someone else, for whom: both recorded on the event."""
        by = Identity(approver, self.customers.display(approver))
        if on_behalf_of and on_behalf_of != approver:
            return by, Identity(on_behalf_of, self.customers.display(on_behalf_of))
        return by, None

    def decision_identities(self, approver: str, on_behalf_of: str | None) -> tuple[Identity, Identity | None]:
        """Who decides and for whom: every approval (a request's, a change's) records both."""
        return self._people(approver, on_behalf_of)

    def _who(self, approver: str, on_behalf_of: str | None) -> tuple[str, str]:
        """Both people when one decides for another: (for the customer, behind the scenes)."""
        who = self.customers.display(approver)
        if on_behalf_of and on_behalf_of != approver:
            return (
                f"{who}, on behalf of {self.customers.display(on_behalf_of)},",
                f"{approver} on behalf of {on_behalf_of}",
            )
        return who, approver

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
                .order_by(t.jobs.c.step.desc(), t.jobs.c.id.desc())
                .limit(1)
            ).first()
        return rows.job(row) if row else None

    # ------------------------------------------------------------------ asking and reminding

    def ask(self, change: Change, job: Job, result: ActionResult, now: datetime) -> list[int]:
        """A step started waiting for an approver: queue their message, and their reminder, in the step's transaction."""
        approver_id = result.outputs.get("approver")
        if not approver_id or job.demand_id is None:
            return []
        approver = self.customers.find(str(approver_id))
        demand = change.demand(job.demand_id)
        if approver is None:  # nobody to tell: the desk sees why the demand waits unseen
            change.record(
                demand,
                behind_scenes=f"approver {approver_id} is not in the directory; nobody was asked",
                kind="note",
                at=now,
            )
            return []
        customer = self.customers.display(demand.customer_id)
        what = self._what(demand)
        reason = str(demand.answers.get("reason", "")).strip()
        text = f"{customer} asks for {what}." + (f' Their reason: "{reason}".' if reason else "")
        text += " Please approve or decline it with the buttons below."
        settings = self.ctx.config.approvals
        base = f"{self.ctx.key_prefix}:demand:{demand.id}:approval:{job.id}"
        ids = [
            self.outbox.add(
                change.conn,
                self._message_row(
                    demand.id,
                    job.id,
                    approver.id,
                    f"Please approve: {what} for {customer}",
                    text,
                    now,
                    key=f"{base}:request",
                ),
            )
        ]
        if settings.remind_after_hours > 0:
            reminder = (
                f"Reminder: {customer} is still waiting for your approval of {what}, asked on "
                f"{now.strftime('%d %b %Y')}." + (f' Their reason: "{reason}".' if reason else "")
            )
            row = self._message_row(
                demand.id,
                job.id,
                approver.id,
                f"Reminder: please approve {what} for {customer}",
                reminder,
                now,
                key=f"{base}:reminder",
                run_after=now + timedelta(hours=settings.remind_after_hours),
                reminder=True,
            )
            self.outbox.add(change.conn, row)  # not due yet: the runner is not woken for it
        return ids

    def _message_row(
        self,
        demand_id: int,
        waiting_job: int,
        approver: str,
        subject: str,
        text: str,
        now: datetime,
        *,
        key: str,
        run_after: datetime | None = None,
        reminder: bool = False,
    ) -> dict[str, Any]:
        params = notify_params(purpose="approval_reminder" if reminder else "approval", subject=subject, text=text)
        return job_row(
            action=APPROVAL_MESSAGE,
            key=key,
            now=now,
            params={**params, "approval": waiting_job, "reminder": reminder},
            demand_id=demand_id,
            customer_id=approver,
            run_after=run_after,
        )

    def run_message(self, job: Job, demand: Demand | None) -> tuple[ActionResult, dict[str, Any] | None]:
        """Send an approver their request or reminder, unless the request was decided meanwhile."""
        waiting = int(job.params.get("approval", 0))
        if demand is None or not self._still_waiting(demand, waiting):
            return ActionResult(behind_scenes="approval reminder not sent: the request was decided meanwhile"), None
        result, row = self.delivery.run_notify(job, demand)
        sees = ""
        if job.params.get("reminder"):
            sees = f"We reminded {self._approver_words(demand, job.customer_id or '')} about your request."
        return attrs.evolve(result, customer_sees=sees), row

    def links_for(self, job: Job, customer: Customer, demand: Demand | None) -> Sequence[Link]:
        """The link provider for an approver's message: approve and decline, signed when the message is sent."""
        waiting = job.params.get("approval")
        if job.action != APPROVAL_MESSAGE or not waiting:
            return ()
        ttl = timedelta(days=self.ctx.config.approvals.link_days)
        token = sign(self.ctx.secret(), LINK_PURPOSE, int(waiting), customer.id, self.ctx.clock(), ttl)
        url = f"{self.ctx.config.deployment.public_url.rstrip('/')}/approvals/{token}"
        return (
            Link(title=N_("Approve"), url=f"{url}?decision=approve"),
            Link(title=N_("Decline"), url=f"{url}?decision=reject"),
        )

    # ------------------------------------------------------------------ the signed links

    def asked(self, token: str) -> ApprovalAsk:
        """What a link asks, checked at once: InvalidLink if tampered or expired, Conflict if decided already."""
        claim = self._claim(token)
        _job, demand = self._target(claim.target)
        self._check_open(demand, claim.target, claim.customer_id)
        return ApprovalAsk(
            demand=demand,
            customer=self.customers.display(demand.customer_id),
            approver=self.customers.display(claim.customer_id),
            approver_id=claim.customer_id,
            what=self._what(demand),
            reason=str(demand.answers.get("reason", "")).strip(),
            expires=claim.expires,
        )

    def decide(self, token: str, approve: bool, reason: str = "", *, approver: str | None = None) -> Demand:
        """The decision behind a link; ``approver`` (a signed-in session) must be the person it was sent to."""
        claim = self._claim(token)
        if approver is not None and approver != claim.customer_id:
            raise InvalidLink(N_("This link was sent to someone else. Please use the link from your own message."))
        job, demand = self._target(claim.target)
        with log_context(demand_id=demand.id):
            self._check_open(demand, claim.target, claim.customer_id)
            if approve:
                return self._approve(demand, job, claim.customer_id, reason, None)
            if not reason.strip():
                raise InvalidAnswers({"reason": "Please say why, so we can tell the requester."})
            return self._reject(demand, claim.customer_id, reason.strip(), None)

    def _claim(self, token: str) -> Any:
        try:
            return verify(self.ctx.secret(), token.rsplit("/", 1)[-1], self.ctx.clock(), purpose=LINK_PURPOSE)
        except ExpiredLink:
            raise InvalidLink(
                N_(
                    "This approval link has expired. Please use the link in the most recent message about this "
                    "request, or ask the service desk to record your decision."
                )
            ) from None

    def _target(self, job_id: int) -> tuple[Job, Demand]:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(t.jobs).where(t.jobs.c.id == job_id)).first()
        if row is None or row.demand_id is None:
            raise InvalidLink(N_("This link is not valid. Please use the link from your most recent message."))
        try:
            return rows.job(row), self.demands.get(row.demand_id)
        except NotFound:
            raise InvalidLink(N_("This request no longer exists.")) from None

    def _still_waiting(self, demand: Demand, waiting_job: int) -> bool:
        if demand.state != DemandState.AWAITING_APPROVAL:
            return False
        job = self.waiting_job(demand.id)
        return job is not None and job.id == waiting_job

    def _check_open(self, demand: Demand, waiting_job: int, approver: str) -> None:
        """Conflict, saying what happened, unless the request still waits for this step's approval by ``approver``."""
        if self._still_waiting(demand, waiting_job):
            job = self.waiting_job(demand.id)
            expected = (job.result or {}).get("approver") if job else None
            if expected and expected != approver:
                raise Forbidden(f"This request now waits for {self.customers.display(str(expected))}, not for you.")
            return
        if demand.state == DemandState.REJECTED:
            text = "This request was declined already; this link changes nothing."
        elif demand.state == DemandState.CANCELLED:
            text = "This request was cancelled, so there is nothing to approve."
        else:
            text = "This request was approved already; this link changes nothing."
        raise Conflict(text, state=str(demand.state), allowed=demand.allowed_next())

    def _what(self, demand: Demand) -> str:
        svc = self.ctx.services.get(demand.service_key or "")
        return svc.name if svc else demand.summary

    def _approver_words(self, demand: Demand, approver: str) -> str:
        return demand.waiting_for or self.customers.display(approver)
