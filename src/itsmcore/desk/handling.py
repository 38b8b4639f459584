"""Working a demand: events, comments, moves along the lifecycle, resolution. Agents and channels call these."""

from __future__ import annotations

from collections.abc import Callable

import attrs
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidInput
from ..logs import log_context
from ..model import Actor, Customer, Demand, DemandKind, DemandState, Identity, JourneyEvent, Priority, Stage
from ..status import customer_status
from .context import Context
from .customers import Customers
from .demands import Demands
from .journey import Change, Journey
from .outbox import Outbox

#: Where a demand's journey is once it reaches a state.
STAGE_OF = {
    DemandState.IN_FULFILMENT: Stage.FULFIL,
    DemandState.IN_PROGRESS: Stage.FULFIL,
    DemandState.AWAITING_APPROVAL: Stage.FULFIL,
    DemandState.FULFILLED: Stage.OUTCOME,
    DemandState.RESOLVED: Stage.OUTCOME,
    DemandState.ANSWERED: Stage.OUTCOME,
    DemandState.REJECTED: Stage.OUTCOME,
    DemandState.CLOSED: Stage.CONFIRM,
}

#: The state that says "done" for each kind of demand.
FINISHED = {
    DemandKind.FAILURE: DemandState.RESOLVED,
    DemandKind.VALUE: DemandState.FULFILLED,
    DemandKind.INFORMATION: DemandState.ANSWERED,
}


#: Channels that are a page the customer reads their demand on, not a channel a message goes to.
ON_THE_PAGE = frozenset({"portal"})

#: Work done in the change that records an event: (change, demand) -> ids of the jobs it queued.
AlsoDo = Callable[[Change, Demand], list[int]]


def tells_by_message(demand: Demand, customer: Customer) -> bool:
    """Whether an answer or an agent's reply on ``demand`` is also sent to its customer as a message.

    A demand taken in on the portal is answered on its page, where the customer already
    is; a message would only repeat it, so one goes only when their preferences name a
    channel to be told by. Any other channel (email, phone, chat) is one they have left,
    so the answer follows them: back by that channel when it can send, else as they prefer.
    """
    return demand.channel not in ON_THE_PAGE or bool(customer.preferred_channels)


class Handling:
    def __init__(self, ctx: Context, demands: Demands, journey: Journey, outbox: Outbox, customers: Customers):
        self.ctx = ctx
        self.demands = demands
        self.journey = journey
        self.outbox = outbox
        self.customers = customers

    def record_event_once(
        self,
        demand_id: int,
        *,
        stage: Stage | str | None = None,
        channel: str | None = None,
        actor: str = Actor.SYSTEM,
        customer_sees: str = "",
        behind_scenes: str = "",
        effort: int = 0,
        kind: str = "note",
        external_ref: str | None = None,
        also: AlsoDo | None = None,
    ) -> tuple[JourneyEvent, bool]:
        """Add an event to a demand's journey, saying whether this call recorded it (see ``Desk.record_event_once``).

        ``also`` runs in the same change once the event is written (a reply queues its
        message there), so the event and its jobs commit together or not at all.
        """
        jobs: list[int] = []
        with log_context(demand_id=demand_id):
            if external_ref is not None:
                existing = self.demands.event_by_external_ref(external_ref)
                if existing is not None:
                    return existing, False
            demand = self.demands.get(demand_id)
            try:
                with self.journey.begin() as change:
                    ev = change.record(
                        demand,
                        stage=stage,
                        channel=channel,
                        actor=actor,
                        customer_sees=customer_sees,
                        behind_scenes=behind_scenes,
                        effort=effort,
                        kind=kind,
                        external_ref=external_ref,
                    )
                    if also is not None:
                        jobs = also(change, demand)
            except IntegrityError:
                # Lost a race on the unique external_ref: the other process's event stands.
                if external_ref is None:
                    raise
                existing = self.demands.event_by_external_ref(external_ref)
                if existing is None:
                    raise
                return existing, False
            self.outbox.wake(jobs)
            return ev, True

    def comment(
        self,
        demand_id: int,
        text: str,
        *,
        actor: str,
        channel: str | None,
        external_ref: str | None,
        reply: bool | None = None,
    ) -> tuple[JourneyEvent, bool]:
        """A comment shown to the customer; an agent's is their reply, also sent to the customer.

        ``reply`` says whether it is a reply when the actor is not ``agent`` (an integration's).

        The customer's own comment is not echoed back to them, and nothing else said on
        the desk (an internal note) goes through here.
        """

        def send_reply(change: Change, demand: Demand) -> list[int]:
            if not tells_by_message(demand, self.customers.get(demand.customer_id)):
                return []
            jid = self.outbox.notify(
                change.conn,
                demand.id,
                purpose="reply",
                subject=f"#{demand.id}: {demand.summary}",
                body=text,
                via=demand.channel,
                now=self.ctx.clock(),
            )
            return [jid]

        return self.record_event_once(
            demand_id,
            actor=actor,
            channel=channel,
            customer_sees=text,
            kind="comment",
            effort=1 if actor == Actor.CUSTOMER else 0,
            external_ref=external_ref,
            also=send_reply if (actor == Actor.AGENT if reply is None else reply) else None,
        )

    def transition(
        self,
        demand_id: int,
        state: DemandState | str,
        *,
        actor: str = Actor.AGENT,
        channel: str | None = None,
        stage: Stage | str | None = None,
        customer_sees: str = "",
        behind_scenes: str = "",
    ) -> Demand:
        """Move a demand along its lifecycle; raises IllegalTransition naming the allowed states."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            with self.journey.begin() as change:
                self.move(
                    change,
                    demand,
                    DemandState(state),
                    actor=actor,
                    channel=channel,
                    stage=stage,
                    customer_sees=customer_sees,
                    behind_scenes=behind_scenes,
                )
            return change.demands()[demand_id]

    @staticmethod
    def move(
        change: Change,
        demand: Demand,
        target: DemandState,
        *,
        actor: str = Actor.AGENT,
        channel: str | None = None,
        stage: Stage | str | None = None,
        customer_sees: str = "",
        behind_scenes: str = "",
        waiting_for: str | None = None,
        by: Identity | None = None,
        on_behalf_of: Identity | None = None,
    ) -> JourneyEvent:
        """A state change with its ``state`` event, worded for the customer unless the caller words it."""
        st = Stage(stage) if stage else STAGE_OF.get(target, demand.stage)
        if not customer_sees:
            # the status model's sentence for where the demand is going: the same words as every page
            moved = attrs.evolve(demand, state=target, stage=st, waiting_for=waiting_for)
            customer_sees = customer_status(moved).sentence
        return change.record(
            demand,
            state=target,
            stage=st,
            waiting_for=waiting_for,
            channel=channel,
            actor=actor,
            customer_sees=customer_sees,
            behind_scenes=behind_scenes or f"state {demand.state} -> {target} by {actor}",
            kind="state",
            by=by,
            on_behalf_of=on_behalf_of,
        )

    def set_priority(
        self, demand_id: int, priority: Priority | int, reason: str, *, actor: str = Actor.AGENT
    ) -> Demand:
        """Change a demand's priority, with the reason on its journey (behind the scenes); a reason is required."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("say why the priority changes: the reason is kept on the demand's journey")
        try:
            target = Priority(int(priority))
        except ValueError:
            raise InvalidInput(f"unknown priority {priority!r}; expected 1 (critical) to 4 (low)") from None
        with log_context(demand_id=demand_id):
            with self.journey.begin() as change:
                demand = change.demand(demand_id)
                if not demand.is_open:
                    raise Conflict(
                        f"demand {demand_id} is {demand.state}; its priority no longer matters", state=str(demand.state)
                    )
                if demand.priority == target:
                    raise Conflict(f"demand {demand_id} has priority {int(target)} already", state=str(demand.state))
                change.record(
                    demand,
                    priority=target,
                    actor=actor,
                    behind_scenes=f"priority {int(demand.priority)} -> {int(target)} by {actor}: {reason}",
                    kind="priority",
                )
            return change.demands()[demand_id]

    def resolve(self, demand_id: int, resolution: str, *, actor: str = Actor.AGENT) -> Demand:
        """Mark an incident resolved (or a request fulfilled, a query answered) and tell the customer."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            with self.journey.begin() as change:
                self.move(
                    change, demand, FINISHED[demand.kind], actor=actor, stage=Stage.OUTCOME, customer_sees=resolution
                )
                jid = self.outbox.notify(
                    change.conn,
                    demand_id,
                    purpose="outcome",
                    subject=f"#{demand_id}: {demand.summary}",
                    body=resolution,
                    # the outcome goes back the way the demand came (an emailed report: in its thread)
                    via=None if demand.channel in ON_THE_PAGE else demand.channel,
                    now=self.ctx.clock(),
                )
            self.outbox.wake([jid])
            return change.demands()[demand_id]
