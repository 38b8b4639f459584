"""Intake: taking in a demand of any kind, acknowledging it, and answering questions by self-service."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, insert, update
from sqlalchemy.exc import IntegrityError

from ..asks import validate_answers
from ..components import Answer
from ..components import Intake as IntakeRecord
from ..errors import IneligibleCustomer, InvalidAnswers, NotFound
from ..i18n import N_, Translator, translator
from ..jobs import DeferredRunner
from ..logs import log_context
from ..model import Actor, Customer, Demand, DemandKind, DemandState, Link, Priority, Service, Stage, Task
from ..status import CustomerStatus, acknowledgement, customer_status
from ..store import rows
from ..store import tables as t
from .announcements import Book
from .context import Context
from .customers import Customers
from .demands import Demands
from .handling import ON_THE_PAGE, tells_by_message
from .journey import Journey
from .outbox import Outbox
from .services import Catalog
from .teams import Decision, Teams

log = logging.getLogger("itsmcore.desk")

_INSERT_DEMAND = insert(t.demands)
_WHAT = {DemandKind.VALUE: "request", DemandKind.FAILURE: "problem", DemandKind.INFORMATION: "question"}
#: The journey's acknowledgement per kind.
_ACK_EVENT = {
    DemandKind.VALUE: N_("We have your request (#{id})."),
    DemandKind.FAILURE: N_("We have your problem (#{id})."),
    DemandKind.INFORMATION: N_("We have your question (#{id})."),
}
#: The acknowledgement's subject per kind, in words a translator can reorder.
_SUBJECT = {
    DemandKind.VALUE: N_("We have your request #{id}: {summary}"),
    DemandKind.FAILURE: N_("We have your problem #{id}: {summary}"),
    DemandKind.INFORMATION: N_("We have your question #{id}: {summary}"),
}


@attrs.frozen(kw_only=True)
class Receipt:
    """What a submission gives back: the demand and what to show the customer now."""

    demand: Demand
    acknowledgement: str
    links: tuple[Link, ...] = ()
    duplicate: bool = False


class Intake:
    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        catalog: Catalog,
        book: Book,
        demands: Demands,
        journey: Journey,
        outbox: Outbox,
        teams: Teams | None = None,
    ):
        self.ctx = ctx
        self.teams = teams
        self.customers = customers
        self.catalog = catalog
        self.book = book
        self.demands = demands
        self.journey = journey
        self.outbox = outbox
        #: The customer's language (the desk plugs in their preferences); English until then.
        self.translator_for: Callable[[str | Customer], Translator] = lambda c: translator()

    def submit(
        self,
        kind: DemandKind | str | None,
        customer: str | Customer,
        summary: str,
        *,
        service: str | None = None,
        details: str = "",
        answers: Mapping[str, Any] | None = None,
        channel: str = "cli",
        actor: str = Actor.CUSTOMER,
        external_ref: str | None = None,
        priority: Priority | int | None = None,
        caused_by: int | None = None,
        cause: str | None = None,
        effort: int | None = None,
        announcement_id: int | None = None,
        discovery: str | None = None,
    ) -> Receipt:
        """Take in a demand of any kind; write it, its first events and its jobs at once.

        Raises UnknownCustomer, UnknownService, IneligibleCustomer or InvalidAnswers
        before anything is written. An ``external_ref`` seen before (an email's
        Message-ID) returns the existing demand with ``duplicate=True``. ``discovery``
        says how the customer found the service (e.g. a search), recorded as the
        journey's discover stage.
        """
        ctx = self.ctx
        if external_ref is not None:
            existing = self.demands.by_external_ref(external_ref)
            if existing is not None:
                return Receipt(demand=existing, acknowledgement=self.ack_text(existing, None), duplicate=True)
        cust = self.customers.resolve(customer)
        summary = (summary or "").strip()
        svc = self.catalog.get(service) if service else None
        kind_v = DemandKind(kind) if kind else None
        if kind_v is None and svc is not None:
            kind_v = svc.kind
        intake = IntakeRecord(
            kind=kind_v, customer=cust, summary=summary, details=details, channel=channel, service_key=service
        )
        team = None
        prio = Priority(priority) if priority is not None else None
        classified = ctx.host.classify(ctx.desk, intake, ctx.on_error(None))
        if classified is not None:
            _plugin, cl = classified
            if cl.kind is not None and kind_v is None:
                kind_v = DemandKind(cl.kind)
            if cl.service_key and svc is None and cl.service_key in ctx.services:
                svc = ctx.services[cl.service_key]
            if cl.priority is not None and prio is None:
                prio = Priority(cl.priority)
            team = cl.team
        kind_v = kind_v or DemandKind.FAILURE
        # the priority: as given, else as classified, else as a plugin decides (a failure keeps 3, and is kept)
        prio_note = f"given by {actor}" if prio is not None else ""
        prio_failures: list[tuple[str, str, BaseException]] = []
        if prio is None:
            decided = ctx.host.prioritise(
                ctx.desk,
                attrs.evolve(intake, kind=kind_v, service_key=svc.key if svc else None),
                svc,
                lambda plugin, hook, exc: prio_failures.append((plugin, hook, exc)),
            )
            if decided is not None:
                plugin, chosen = decided
                prio = Priority(chosen.priority)
                prio_note = f"by {plugin}" + (f": {chosen.reason}" if chosen.reason else "")
        elif classified is not None and priority is None:
            prio_note = f"classified by {classified[0]}"
        if not summary:
            summary = svc.name if svc else ""
        if not summary:
            raise InvalidAnswers({"summary": "Please say in a few words what you need."})

        clean: dict[str, str] = {}
        if kind_v == DemandKind.VALUE and svc is not None:
            decision = self.catalog.eligibility(cust, svc)
            if not decision.eligible:
                raise IneligibleCustomer(cust.id, svc.key, decision.reason, decision.next_step)
            clean = validate_answers(svc, answers or {}, cust, self.customers.configuration_items(cust.id))
        elif answers:
            clean = {k: str(v) for k, v in answers.items()}

        # who owns it: the classifier's team, else as a policy decides (a failure: the service's team, kept)
        assigned: Decision | None = None
        if team is None and self.teams is not None and ctx.config.teams:
            assigned = self.teams.decide(
                attrs.evolve(intake, kind=kind_v, service_key=svc.key if svc else None),
                svc,
                int(prio or Priority.MEDIUM),
            )
            team = assigned.team

        now = ctx.clock()
        typed = len(clean) if effort is None else effort
        outage = None
        if kind_v == DemandKind.FAILURE and svc is not None:
            outage = (
                self.book.get(announcement_id)
                if announcement_id is not None
                else self.book.open_for_service(svc.key, at=now)
            )
            if outage is not None and outage.state == "open":
                announcement_id = outage.id
                cause = cause or "announced_outage"
            else:
                outage = None
        # A request with a fulfilment plan goes straight into fulfilment, in the same row; its
        # journey enters the fulfil stage when the first step reports.
        fulfils = kind_v == DemandKind.VALUE and svc is not None and bool(svc.plan)
        what = _WHAT[kind_v]
        tr = self.translator_for(cust)  # what the customer reads, in their language
        with self.journey.begin() as change:
            conn = change.conn
            try:
                row = {
                    "kind": str(kind_v),
                    "state": str(DemandState.IN_FULFILMENT if fulfils else DemandState.NEW),
                    "stage": str(Stage.ACKNOWLEDGE),
                    "customer_id": cust.id,
                    "customer_role": cust.role,
                    "customer_department": cust.department,
                    "service_key": svc.key if svc else None,
                    "channel": channel,
                    "summary": summary,
                    "details": details,
                    "answers": clean,
                    "outputs": {},
                    "priority": int(prio or Priority.MEDIUM),
                    "team": team,
                    "assignee": assigned.agent if assigned is not None else None,
                    "external_ref": external_ref,
                    "caused_by": caused_by,
                    "cause": cause,
                    "announcement_id": announcement_id,
                    "self_service": False,
                    "created_at": now,
                    "updated_at": now,
                }
                demand_id = conn.execute(_INSERT_DEMAND, row).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                if external_ref is None:
                    raise
                conn.rollback()
                existing = self.demands.by_external_ref(external_ref)
                assert existing is not None
                return Receipt(demand=existing, acknowledgement=self.ack_text(existing, None), duplicate=True)
            events = []
            if discovery:
                events.append(
                    _event_row(
                        demand_id,
                        Stage.DISCOVER,
                        channel,
                        actor,
                        "discovered",
                        f"You found {svc.name if svc else 'us'}.",
                        discovery,
                        1,
                        now,
                    )
                )
            events.append(
                _event_row(
                    demand_id,
                    Stage.ENGAGE,
                    channel,
                    actor,
                    "submitted",
                    tr("You told us: {summary}", summary=summary),
                    f"{kind_v} demand received through {channel}"
                    + (f" for service {svc.key}" if svc else "")
                    + (f"; classified by {classified[0]}" if classified else ""),
                    max(1, typed),
                    now,
                )
            )
            events.append(
                _event_row(
                    demand_id,
                    Stage.ACKNOWLEDGE,
                    channel,
                    Actor.SYSTEM,
                    "acknowledged",
                    tr(_ACK_EVENT[kind_v], id=demand_id),
                    f"demand {demand_id} written with state {row['state']}, priority {int(prio or 3)}"
                    + (f" ({prio_note})" if prio_note else ""),
                    0,
                    now,
                )
            )
            # a plugin that failed is kept with the demand, in its transaction: the demand is never lost
            priority_said = f"priority {int(prio or Priority.MEDIUM)}" + (
                " decided without it" if prio_note else " (the default) kept"
            )
            events += _failures(conn, demand_id, channel, now, prio_failures, "priority", priority_said)
            if assigned is not None:
                said = assigned.note or "not assigned"
                events += _failures(conn, demand_id, channel, now, assigned.failures, "assignment", said)
                if assigned.note and not assigned.failures:
                    events.append(
                        _event_row(
                            demand_id, Stage.ACKNOWLEDGE, channel, Actor.SYSTEM, "assignment", "", assigned.note, 0, now
                        )
                    )
            if outage is not None:
                self.book.mark_affected(conn, outage.id, cust.id, now)
                workaround = tr(" Meanwhile: {workaround}", workaround=outage.workaround) if outage.workaround else ""
                events.append(
                    _event_row(
                        demand_id,
                        Stage.ACKNOWLEDGE,
                        channel,
                        Actor.SYSTEM,
                        "linked",
                        tr(
                            "We know about this: {title}.{meanwhile} We will tell you when it is fixed.",
                            title=outage.title,
                            meanwhile=workaround,
                        ),
                        f"linked to announcement {outage.id}; customer added to its affected list",
                        0,
                        now,
                    )
                )
            # built from what was just written: no second read on the intake path
            demand = rows.demand(rows.RowView(row, id=demand_id, waiting_for=None, resolved_at=None))
            change.received(demand, events)
            if outage is not None:
                known = outage
                on_error = ctx.on_error(demand_id)
                change.after(lambda: ctx.host.customer_affected(ctx.desk, known, cust, on_error))
            # worded from the demand as written now: the message cannot promise what the state is not
            ack = acknowledgement(
                demand, customer_status(demand, service=svc, now=now, known_outage=outage, tr=tr), service=svc, tr=tr
            )
            told_as = (
                None if tr.english else {"subject": tr(_SUBJECT[kind_v], id=demand_id, summary=summary), "text": ack}
            )
            jobs = [
                self.outbox.notify_row(
                    demand_id,
                    purpose="acknowledgement",
                    subject=f"We have your {what} #{demand_id}: {summary}",
                    body=ack,
                    now=now,
                    key=f"{ctx.key_prefix}:demand:{demand_id}:acknowledgement",
                    say=told_as,
                    # an emailed demand is acknowledged by email, in its thread; the portal shows it on screen
                    # and the customer's preferences decide any message besides
                    via=None if channel in ON_THE_PAGE else channel,
                )
            ]
            if fulfils:
                assert svc is not None
                jobs.append(self.outbox.step_row(demand_id, svc, 0, now))
            # nobody is woken by a deferred runner, so the ids are not needed
            job_ids = self.outbox.add_many(conn, jobs, ids=not isinstance(ctx.runner, DeferredRunner))
        # from here on every line logged (inline jobs) names the new demand
        with log_context(demand_id=demand_id):
            answer_jobs = self._try_answer(demand, cust) if kind_v == DemandKind.INFORMATION else []
            if job_ids:
                self.outbox.wake(job_ids + answer_jobs)
                demand = self.demands.get(demand_id)
            elif kind_v == DemandKind.INFORMATION:
                self.outbox.wake(answer_jobs)
                demand = self.demands.get(demand_id)
            ack = self.ack_text(demand, svc)
            links = svc.quick_start if svc else ()
            if outage is not None:
                links = tuple(outage.workaround_links) + tuple(links)
            return Receipt(demand=demand, acknowledgement=ack, links=links)

    def ack_text(self, demand: Demand, svc: Service | None) -> str:
        """The acknowledgement shown to the customer for a demand: the thanks, then where it stands now."""
        svc = svc or self.catalog.find(demand.service_key)
        tr = self._translator(demand.customer_id)
        return acknowledgement(demand, self.status(demand, svc, tr=tr), service=svc, tr=tr)

    def _translator(self, customer_id: str) -> Translator:
        """The customer's language; English for a customer the directory no longer knows."""
        try:
            return self.translator_for(customer_id)
        except NotFound:
            return translator()

    def status(
        self, demand: Demand, svc: Service | None = None, *, task: Task | None = None, tr: Translator | None = None
    ) -> CustomerStatus:
        """Where ``demand`` stands for its customer, with the facts the status model needs looked up here.

        The wait is taken to have begun at the demand's last change (``updated_at``): every
        change of what it waits for is one, and a note or a message is not. ``task`` is the
        plan's task the demand waits on, found by the caller (the tasks feature sits above this one).
        ``tr`` is the language to tell it in; the demand's customer's by default.
        """
        svc = svc or self.catalog.find(demand.service_key)
        outage = None
        if demand.announcement_id is not None:
            try:
                outage = self.book.get(demand.announcement_id)
            except NotFound:
                outage = None
        ctx = self.ctx
        target = ctx.host.service_target(ctx.desk, demand, ctx.on_error(demand.id)) if demand.is_open else None
        return customer_status(
            demand,
            service=svc,
            now=ctx.clock(),
            known_outage=outage,
            waiting_since=demand.updated_at if demand.waiting_for else None,
            task=task,
            target=target,
            tr=tr or self._translator(demand.customer_id),
        )

    def _try_answer(self, demand: Demand, customer: Customer) -> list[int]:
        """Answer a question by self-service, or route it to a person; the ids of the jobs queued.

        The answer is recorded and its message queued in one change: the journey never
        says "answered" without the answer being on its way (see ``tells_by_message``).
        """
        ctx = self.ctx
        answered = ctx.host.answer_query(ctx.desk, demand, ctx.on_error(demand.id))
        with self.journey.begin() as change:
            if answered is None:
                change.record(
                    demand,
                    stage=Stage.FULFIL,
                    customer_sees="Someone from IT will answer you.",
                    behind_scenes="no self-service answer found; routed to the service desk",
                    kind="routed",
                )
                moved = attrs.evolve(demand, state=DemandState.IN_PROGRESS, stage=Stage.FULFIL)
                change.record(
                    demand,
                    state=DemandState.IN_PROGRESS,
                    stage=Stage.FULFIL,
                    customer_sees=customer_status(moved).sentence,
                    behind_scenes=f"state {demand.state} -> {DemandState.IN_PROGRESS} by {Actor.SYSTEM}",
                    kind="state",
                )
                return []
            plugin, answer = answered
            links = "".join(f"\n{link.title}: {link.url}" for link in answer.links)
            # An answer about an earlier demand means the customer was chasing it (failure
            # demand); any other answer means they could not find it themselves.
            cause = "chase" if answer.about is not None else "cant_find"
            change.conn.execute(
                update(t.demands)
                .where(t.demands.c.id == demand.id)
                .values(self_service=True, cause=cause, caused_by=answer.about)
            )
            if answer.article is not None:  # the knowledge report counts what each article answered
                change.conn.execute(
                    insert(t.knowledge_uses).values(
                        article_key=answer.article,
                        demand_id=demand.id,
                        customer_id=demand.customer_id,
                        via="answer",
                        at=ctx.clock(),
                    )
                )
            change.record(
                demand,
                state=DemandState.ANSWERED,
                stage=Stage.OUTCOME,
                actor=plugin,
                customer_sees=answer.text + links,
                behind_scenes=f"answered by self-service ({answer.source or plugin})",
                kind="state",
            )
            if not tells_by_message(demand, customer):
                return []  # a portal question: the answer is on its page
            return [
                self.outbox.notify(
                    change.conn,
                    demand.id,
                    purpose="answer",
                    subject=f"#{demand.id}: {demand.summary}",
                    body=answer.text,
                    links=answer.links,
                    via=demand.channel,
                    now=ctx.clock(),
                    key=f"{ctx.key_prefix}:demand:{demand.id}:answer",
                )
            ]

    def suggest_answer(self, customer: str | Customer, text: str) -> Answer | None:
        """A self-service answer to a question before it is asked (nothing is stored).

        Portals call this as the customer types, to offer knowledge before a demand is
        written; a plugin that fails here is logged and skipped.
        """
        cust = self.customers.resolve(customer)
        now = self.ctx.clock()
        draft = Demand(
            id=0,
            kind=DemandKind.INFORMATION,
            customer_id=cust.id,
            summary=text.strip(),
            channel="preview",
            created_at=now,
            updated_at=now,
        )

        def skip(plugin: str, hook: str, exc: BaseException) -> None:
            log.warning("plugin %s failed in %s while suggesting an answer: %s", plugin, hook, exc)

        found = self.ctx.host.answer_query(self.ctx.desk, draft, skip)
        return found[1] if found is not None else None


def _failures(
    conn: Connection,
    demand_id: int,
    channel: str,
    now: datetime,
    failures: Iterable[tuple[str, str, BaseException]],
    kind: str,
    outcome: str,
) -> list[dict[str, Any]]:
    """Keep each plugin failure against the demand; the journey events that say so and what was done instead."""
    events = []
    for plugin, hook, exc in failures:
        text = f"{type(exc).__name__}: {exc}"
        log.warning("plugin %s failed in %s for demand %s: %s", plugin, hook, demand_id, text)
        conn.execute(
            insert(t.plugin_errors).values(demand_id=demand_id, plugin=plugin, hook=hook, error=text[:4000], at=now)
        )
        said = f"plugin {plugin} failed in {hook} ({text[:300]}); {outcome}"
        events.append(_event_row(demand_id, Stage.ACKNOWLEDGE, channel, Actor.SYSTEM, kind, "", said, 0, now))
    return events


def _event_row(
    demand_id: int,
    stage: Stage,
    channel: str,
    actor: str,
    kind: str,
    customer_sees: str,
    behind_scenes: str,
    effort: int,
    now: Any,
) -> dict[str, Any]:
    return {
        "demand_id": demand_id,
        "stage": str(stage),
        "channel": channel,
        "actor": str(actor),
        "kind": kind,
        "customer_sees": customer_sees,
        "behind_scenes": behind_scenes,
        "effort": effort,
        "at": now,
    }
