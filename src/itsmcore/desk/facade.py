"""The desk: the one Python API that the CLI, channels and the portal call.

A facade: :class:`Desk` builds the parts of the desk, each owning one concern and
handed its collaborators, and delegates every call to one of them. Every change to a
demand goes through the journey writer (:mod:`itsmcore.desk.journey`), which calls the
journey hooks after commit; a hook implementation that raises is recorded against the
demand with the plugin's name, and the demand is kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select

from ..components import Answer, JobRunner, SurveyMethod
from ..deployment import Deployment
from ..eligibility import Decision
from ..errors import StoreUnavailable
from ..i18n import Translator
from ..logs import log_context
from ..model import (
    Actor,
    Announcement,
    Customer,
    Demand,
    DemandKind,
    DemandState,
    JourneyEvent,
    Link,
    Priority,
    Review,
    ReviewSummary,
    Service,
    Stage,
    SurveyResponse,
    Task,
    TaskState,
)
from ..status import CustomerStatus
from ..store.engine import open_engine, resolve_url
from .accounts import Accounts
from .announcements import Book, Ledger
from .approvals import APPROVAL_MESSAGE, ApprovalAsk, Approvals
from .changes import CHANGE_NOTICE, CHANGE_REMINDER, Changes, ChangesDesk
from .cmdb import Cmdb, CmdbDesk
from .context import Clock, Context, utcnow
from .corrections import Corrections
from .customers import Customers
from .delivery import Delivery
from .demands import Demands, DemandView, PluginFailure
from .execution import Execution
from .fulfilment import Fulfilment
from .handling import Handling
from .inbound import InboundEvents
from .intake import Intake, Receipt
from .journey import Journey
from .knowledge import Knowledge
from .operations import Operations
from .outages import FANOUT, FOLLOW_UP, Outages
from .outbox import Outbox
from .people import People
from .preferences import PreferenceBook
from .problems import ProblemDesk, Problems
from .profiles import Profiles
from .queue import JobQueue
from .reviews import Reviews
from .services import Catalog, CatalogEntry, Held
from .signin import Sessions, SignIn
from .subscriptions import Subscriptions
from .surveys import Surveys
from .tasks import Tasks
from .team_desk import TeamDesk
from .teams import Teams
from .tokens import ApiTokens


class Desk(Operations, TeamDesk, Accounts, CmdbDesk, ChangesDesk, ProblemDesk):
    """A deployment's service desk. Open with :meth:`open`; close when done."""

    def __init__(self, deployment: Deployment, engine: Engine, *, clock: Clock = utcnow):
        ctx = self._ctx = Context(deployment, engine, clock, self)
        self.deployment = deployment
        self.config = ctx.config
        self.host = ctx.host
        self.engine = engine
        self.directory = ctx.directory
        # the parts, bottom layer first; each gets only what it uses
        journey = Journey(ctx)
        outbox = self._outbox = Outbox(ctx)
        demands = self._demands = Demands(ctx)
        customers = self._customers = Customers(ctx)
        self._people = People(ctx, customers)
        catalog = self._catalog = Catalog(ctx, customers)
        book = self._book = Book(ctx, customers)
        #: The knowledge base: articles, their versions, search and feedback (see the knowledge base page).
        self.knowledge = Knowledge(ctx, customers)
        self._signin = SignIn(ctx)
        self._sessions = Sessions(ctx)
        self._tokens = ApiTokens(ctx)
        self._inbound = InboundEvents(ctx)
        subscriptions = self._subscriptions = Subscriptions(ctx, customers, catalog)
        delivery = self._delivery = Delivery(ctx, customers)
        surveys = self._surveys = Surveys(ctx, customers, demands, journey, outbox)
        reviews = self._reviews = Reviews(ctx, customers, demands, journey)
        prefs = self._preferences = PreferenceBook(ctx, customers, delivery.channels)
        delivery.channel_order = lambda c: prefs.get(c).channels
        delivery.hold_until = prefs.hold_until
        delivery.translator_for = prefs.translator
        delivery.reading = prefs.read_once
        catalog.translator_for = prefs.translator
        surveys.opted_in = lambda customer_id: prefs.get(customer_id).surveys
        self._profiles = Profiles(ctx, customers, demands, book, reviews, prefs)
        handling = self._handling = Handling(ctx, demands, journey, outbox, customers)
        teams = self._teams = Teams(ctx, customers, journey)
        intake = self._intake = Intake(ctx, customers, catalog, book, demands, journey, outbox, teams)
        intake.translator_for = prefs.translator
        fulfilment = Fulfilment(ctx, outbox, subscriptions)
        approvals = self._approvals = Approvals(ctx, customers, demands, journey, outbox, fulfilment, delivery)
        tasks = self._tasks = Tasks(ctx, journey, outbox, fulfilment, teams)
        tasks.translator_for = prefs.translator
        self._corrections = Corrections(ctx, customers, demands, journey, outbox, fulfilment)
        outages = self._outages = Outages(
            ctx, customers, catalog, demands, book, subscriptions, intake, handling, journey, outbox
        )
        queue = self._queue = JobQueue(ctx, journey, outbox, fulfilment)
        execution = self._execution = Execution(ctx, queue, demands, customers, catalog, journey, outbox, fulfilment)
        # the desk's own jobs and links plug in like a plugin's would
        delivery.link_providers += [outages.links_for, surveys.links_for, approvals.links_for]
        fulfilment.wait_listeners.append(approvals.ask)
        fulfilment.task_opener = tasks.open
        execution.register("notify", lambda job, demand: delivery.run_notify(job, execution.demand_of(job, demand)))
        execution.register(FANOUT, lambda job, _demand: (outages.run_fanout(job), None))
        execution.register(FOLLOW_UP, lambda job, _demand: (outages.run_follow_up(job), None))
        execution.register(
            APPROVAL_MESSAGE, lambda job, demand: approvals.run_message(job, execution.demand_of(job, demand))
        )
        catalog.sync()
        self.knowledge.import_config()
        self._cmdb = Cmdb(ctx, subscriptions, demands, outages)
        self._cmdb.sync()
        changes = self._changes = Changes(ctx, customers, catalog, self._cmdb, approvals, outages, outbox)
        changes.translator_for = prefs.translator
        execution.register(CHANGE_NOTICE, lambda job, _demand: (changes.run_notice(job), None))
        execution.register(CHANGE_REMINDER, lambda job, _demand: (changes.run_reminder(job), None))
        problems = self._problems = Problems(ctx, demands, book, journey, outbox, outages, self.knowledge, self._cmdb)
        problems.translator_for = prefs.translator
        self.host.desk_opened(self, ctx.on_error(None))

    @classmethod
    def open(
        cls,
        config: str | os.PathLike[str] | None = None,
        *,
        plugins: Sequence[object] = (),
        entry_points: bool = True,
        clock: Clock = utcnow,
        migrate: bool = True,
    ) -> Desk:
        """Load the deployment at ``config`` and open its store (upgrading an empty one)."""
        deployment = Deployment.load(config, plugins=plugins, entry_points=entry_points)
        url = resolve_url(deployment.config.deployment.database, deployment.config.base_dir)
        engine = open_engine(url, migrate=migrate)
        return cls(deployment, engine, clock=clock)

    def close(self) -> None:
        """Release the database connections and the components' resources."""
        self.deployment.close()
        self.engine.dispose()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def clock(self) -> Clock:
        """The desk's clock: every part reads the time through it, so moving it (tests, the demo) moves them all."""
        return self._ctx.clock

    @clock.setter
    def clock(self, value: Clock) -> None:
        self._ctx.clock = value

    @property
    def runner(self) -> JobRunner:
        """The deployment's job runner (inline, deferred, or a plugin's such as celery)."""
        return self._ctx.runner

    @property
    def name(self) -> str:
        return self.deployment.name

    def secret(self) -> bytes:
        """The deployment's signing secret (``ITSM_SECRET``, else its secret file, created 0600)."""
        return self._ctx.secret()

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers (for health checks)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except Exception as e:
            raise StoreUnavailable(f"the database does not answer: {type(e).__name__}: {e}") from e

    # ------------------------------------------------------------------ catalog

    @property
    def services(self) -> tuple[Service, ...]:
        """The configured services."""
        return self._catalog.services

    def get_service(self, key: str) -> Service:
        """The service with this key; UnknownService (with a close match) otherwise."""
        return self._catalog.get(key)

    def search(self, query: str, *, customer: str | Customer | None = None, limit: int = 10) -> list[CatalogEntry]:
        """Catalog search, best match first; with ``customer``, each result says if they can have it."""
        return self._catalog.search(query, customer=customer, limit=limit)

    def already_has(self, customer: str | Customer, service: str | Service) -> Held | None:
        """The customer's earlier fulfilled request for the service, or their CI naming it; ``None`` otherwise."""
        return self._catalog.already_has(customer, service)

    def eligibility(self, customer: Customer, service: Service) -> Decision:
        """The service's rule, then every plugin's check; any "no" wins."""
        return self._catalog.eligibility(customer, service)

    def prefill(self, service: str | Service, customer: str | Customer) -> dict[str, str]:
        """What the directory and CMDB already know for each of the service's asks."""
        return self._catalog.prefill(service, customer)

    # ------------------------------------------------------------------ intake

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
        return self._intake.submit(
            kind,
            customer,
            summary,
            service=service,
            details=details,
            answers=answers,
            channel=channel,
            actor=actor,
            external_ref=external_ref,
            priority=priority,
            caused_by=caused_by,
            cause=cause,
            effort=effort,
            announcement_id=announcement_id,
            discovery=discovery,
        )

    def find_by_external_ref(self, ref: str) -> Demand | None:
        """The demand taken in with this external reference (e.g. an email Message-ID)."""
        return self._demands.by_external_ref(ref)

    def suggest_answer(self, customer: str | Customer, text: str) -> Answer | None:
        """A self-service answer to a question before it is asked (nothing is stored).

        Portals call this as the customer types, to offer knowledge before a demand is
        written; a plugin that fails here is logged and skipped.
        """
        return self._intake.suggest_answer(customer, text)

    # ------------------------------------------------------------------ reading demands

    def get(self, demand_id: int) -> Demand:
        """The demand; NotFound otherwise."""
        return self._demands.get(demand_id)

    def customer_status(self, demand: Demand | int) -> CustomerStatus:
        """Where a demand stands in its customer's words (:func:`itsmcore.status.customer_status`).

        Looks up what the status model needs (the service, the linked announcement, the
        clock, when the wait began), so every channel tells the customer the same thing.
        """
        d = demand if isinstance(demand, Demand) else self._demands.get(demand)
        return self._intake.status(d, task=self._tasks.current(d))

    def translator(self, customer: str | Customer) -> Translator:
        """The customer's language (preferences, then directory, then the deployment's default) as a
        :class:`~itsmcore.i18n.Translator`, with the plugins' catalogs merged in."""
        return self._preferences.translator(customer)

    def link_reader(self, token: str) -> str | None:
        """The customer a genuine signed link (confirm, survey, approval) was made for, else None.

        A page reached through the link speaks their language even when nobody is signed in, and
        so does the refusal of one that has expired.
        """
        from ..links import ExpiredLink, InvalidLink, verify

        try:
            return verify(self._ctx.secret(), token.rsplit("/", 1)[-1], self._ctx.clock()).customer_id
        except ExpiredLink as expired:
            return expired.customer_id
        except InvalidLink:
            return None

    def acknowledgement(self, demand: Demand | int) -> str:
        """The thank-you for a demand followed by where it stands now (:func:`itsmcore.status.acknowledgement`)."""
        d = demand if isinstance(demand, Demand) else self._demands.get(demand)
        return self._intake.ack_text(d, None)

    def journey(self, demand_id: int) -> list[JourneyEvent]:
        """The demand's journey events, oldest first."""
        return self._demands.journey(demand_id)

    def show(self, demand_id: int) -> DemandView:
        """A demand with its journey, jobs, plugin failures and outputs."""
        return self._demands.show(demand_id)

    def list_demands(
        self,
        *,
        customer: str | None = None,
        kind: DemandKind | str | None = None,
        state: DemandState | str | None = None,
        service: str | None = None,
        open_only: bool = False,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Demand]:
        """Newest first; ``before`` (a demand id) gives the page that follows it, for paging through them all."""
        return self._demands.listing(
            customer=customer, kind=kind, state=state, service=service, open_only=open_only, limit=limit, before=before
        )

    def plugin_failures(self, demand_id: int | None = None) -> list[PluginFailure]:
        """Hook implementations that raised, for one demand or all."""
        return self._demands.plugin_failures(demand_id)

    def find_event_by_external_ref(self, ref: str) -> JourneyEvent | None:
        """The journey event recorded with this external reference, on any demand (one index lookup)."""
        return self._demands.event_by_external_ref(ref)

    def inbound_seen(self, channel: str, event_id: str) -> bool:
        """Whether the inbound ``channel`` already took in the provider's event ``event_id`` (a retry, a replay).

        Kept in the store (for seven days), so it holds after a restart and on every process.
        """
        return self._inbound.seen(channel, event_id)

    def remember_inbound(self, channel: str, event_id: str) -> bool:
        """Keep that ``channel`` took in ``event_id`` (call it once the event is handled); ``True`` if new."""
        return self._inbound.remember(channel, event_id)

    # ------------------------------------------------------------------ working a demand

    def record_event(
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
    ) -> JourneyEvent:
        """Add an event to a demand's journey; a new ``stage`` moves the demand there.

        ``external_ref`` (e.g. an email reply's Message-ID) makes the call idempotent across
        processes: when an event already carries it, nothing is recorded, no hook fires and
        that event is returned, so two pollers taking in the same message record it once.
        """
        return self.record_event_once(
            demand_id,
            stage=stage,
            channel=channel,
            actor=actor,
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=effort,
            kind=kind,
            external_ref=external_ref,
        )[0]

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
    ) -> tuple[JourneyEvent, bool]:
        """:meth:`record_event`, also saying whether this call recorded the event.

        ``False`` means an event with the same ``external_ref`` was there already (possibly
        written a moment ago by another process) and is returned instead: a caller that
        acts after recording (tells someone, keeps files) must then do nothing more.
        """
        return self._handling.record_event_once(
            demand_id,
            stage=stage,
            channel=channel,
            actor=actor,
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=effort,
            kind=kind,
            external_ref=external_ref,
        )

    def advance(self, demand_id: int, stage: Stage | str, **kwargs: Any) -> JourneyEvent:
        """Move a demand's journey to ``stage`` with an event saying what happened."""
        return self.record_event(demand_id, stage=stage, **kwargs)

    def comment(
        self,
        demand_id: int,
        text: str,
        *,
        actor: str = Actor.CUSTOMER,
        channel: str | None = None,
        external_ref: str | None = None,
        reply: bool | None = None,
    ) -> JourneyEvent:
        """A comment from the customer or an agent, shown to the customer.

        An agent's comment (or with ``reply=True`` another actor's: an integration's) is a
        reply, sent to the customer too: back by the channel the demand came by when it can
        send (an email, in its thread), else as they prefer; not for a portal demand, which
        they read on its page, unless their preferences name a channel. With
        ``external_ref`` the same comment taken in twice is recorded once.
        """
        event, recorded = self._handling.comment(
            demand_id, text, actor=actor, channel=channel, external_ref=external_ref, reply=reply
        )
        if recorded and actor == Actor.CUSTOMER:
            # a reply to "please send the right mobile number" that is one: the plan goes on
            self._corrections.from_reply(demand_id, text, channel=channel)
        return event

    def customer_corrected(
        self,
        demand_id: int,
        answers: Mapping[str, Any],
        *,
        actor: str = Actor.CUSTOMER,
        channel: str | None = None,
    ) -> Demand:
        """The customer (or an agent for them) corrects the answers a step could not use; that step runs again.

        Conflict unless the demand waits for a correction; InvalidAnswers, as at intake,
        when a corrected answer cannot be used either (nothing is written then).
        """
        return self._corrections.corrected(demand_id, answers, actor=actor, channel=channel)

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
        """Move a demand along its lifecycle; raises IllegalTransition naming the allowed states.

        A demand another process moved meanwhile raises :class:`~itsmcore.errors.Conflict`
        (nothing is written); read it again and decide.
        """
        return self._handling.transition(
            demand_id,
            state,
            actor=actor,
            channel=channel,
            stage=stage,
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
        )

    def resolve(self, demand_id: int, resolution: str, *, actor: str = Actor.AGENT) -> Demand:
        """Mark an incident resolved (or a request fulfilled, a query answered) and tell the customer."""
        return self._handling.resolve(demand_id, resolution, actor=actor)

    def tasks(
        self,
        *,
        state: TaskState | str | None = None,
        team: str | None = None,
        demand_id: int | None = None,
        open_only: bool = False,
        limit: int = 100,
    ) -> list[Task]:
        """Plan steps people do, oldest first: a team's work list (``InvalidInput`` for an unknown state)."""
        return self._tasks.listing(state=state, team=team, demand_id=demand_id, open_only=open_only, limit=limit)

    def task(self, task_id: int) -> Task:
        """One task (``NotFound`` if there is none)."""
        return self._tasks.get(task_id)

    def task_milestones(self, task_id: int) -> tuple[str, ...]:
        """The milestones a task's plan step names, in order: what :meth:`task_milestone` accepts."""
        return self._tasks.milestone_names(task_id)

    def start_task(self, task_id: int, assignee: str | None = None, *, actor: str = Actor.AGENT) -> Task:
        """Someone takes a task (``Conflict`` if it is done, or started already by the same person)."""
        return self._tasks.start(task_id, assignee, actor=actor)

    def task_milestone(self, task_id: int, milestone: str, *, actor: str = Actor.AGENT) -> Task:
        """A task reached a milestone the customer hears of; the last finishes it (errors: ``Conflict``, ``InvalidInput``)."""
        return self._tasks.milestone(task_id, milestone, actor=actor)

    def finish_task(self, task_id: int, *, actor: str = Actor.AGENT) -> Task:
        """A task is done: the plan carries on, and the demand is fulfilled after its last step."""
        return self._tasks.done(task_id, actor=actor)

    def reassign_task(
        self, task_id: int, *, assignee: str | None = None, team: str | None = None, actor: str = Actor.AGENT
    ) -> Task:
        """Give a task to another person or team (``Conflict`` if it is done)."""
        return self._tasks.reassign(task_id, assignee=assignee, team=team, actor=actor)

    def approve(self, demand_id: int, approver: str, note: str = "", *, on_behalf_of: str | None = None) -> Demand:
        """An approver says yes: the plan carries on from the step after the approval.

        ``on_behalf_of`` names the approver the demand waits for when someone else (an agent,
        a deputy) records the decision for them; the journey names both. Conflict unless the
        demand awaits approval; Forbidden unless ``on_behalf_of`` (else ``approver``) is its approver.
        """
        return self._approvals.approve(demand_id, approver, note, on_behalf_of=on_behalf_of)

    def reject(self, demand_id: int, approver: str, reason: str, *, on_behalf_of: str | None = None) -> Demand:
        """An approver says no, with a reason the customer is told (``on_behalf_of``, errors as for :meth:`approve`)."""
        return self._approvals.reject(demand_id, approver, reason, on_behalf_of=on_behalf_of)

    def approval_asked(self, token: str) -> ApprovalAsk:
        """What a signed approval link asks (who, for what, for whom), checked at once without changing anything.

        ``InvalidLink`` (an ItsmError) when tampered with or expired; Conflict when the
        request was decided already or moved on (the link works once).
        """
        return self._approvals.asked(token)

    def approve_by_link(self, token: str, approve: bool, reason: str = "", *, approver: str | None = None) -> Demand:
        """The decision behind a signed approval link; a decline needs a ``reason`` (InvalidAnswers otherwise).

        Errors as for :meth:`approval_asked`; ``approver`` (a signed-in session) must be the
        person the link was sent to.
        """
        return self._approvals.decide(token, approve, reason, approver=approver)

    def confirm_demand(self, demand_id: int, customer: str, fixed: bool, *, channel: str = "portal") -> int:
        """A signed-in customer's answer to "is it sorted?" for their own finished demand.

        For a demand linked to an announcement this is the same as its confirm link
        (the ledger is updated); otherwise "yes" closes the demand and asks for
        feedback, "no" reopens it. Returns the id of the demand that carries on.
        """
        return self._outages.confirm_demand(demand_id, customer, fixed, channel=channel)

    # ------------------------------------------------------------------ announcements

    def open_announcement(
        self,
        service: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Iterable[Link] = (),
        estimate: str = "",
        source: str = "agent",
    ) -> Announcement:
        """Tell a service's subscribers what is wrong, the workaround and an estimate (in batches, as jobs)."""
        return self._outages.open(
            service,
            title,
            description=description,
            workaround=workaround,
            links=links,
            estimate=estimate,
            source=source,
        )

    def update_announcement(self, announcement_id: int, **changes: Any) -> Announcement:
        """Change an open announcement's description, workaround, links or estimate, and tell everyone concerned."""
        return self._outages.update(announcement_id, **changes)

    def resolve_announcement(self, announcement_id: int, resolution: str) -> Announcement:
        """Announce the fix; affected customers get a signed link to confirm it (or say it is still broken).

        The linked incidents still open are resolved, each through the journey writer.
        """
        return self._outages.resolve(announcement_id, resolution)

    def affects_me(self, announcement_id: int, customer: str, channel: str = "portal") -> int:
        """ "This affects me": join the affected list; returns the customer's linked incident."""
        return self._outages.affects_me(announcement_id, customer, channel)

    def confirm(self, token: str, fixed: bool, *, customer: str | None = None) -> int:
        """The answer behind a confirm link; returns the customer's demand id."""
        return self._outages.confirm(token, fixed, customer_id=customer)

    def confirm_asked(self, token: str) -> Announcement:
        """The announcement a confirm link asks about, checked at once without changing anything.

        ``InvalidLink`` (an ItsmError; ``ExpiredLink`` past its expiry) when tampered with or
        expired; Conflict when its customer answered already (the link works once).
        """
        return self._outages.confirm_asked(token)

    def announcement(self, announcement_id: int) -> Announcement:
        """The announcement; NotFound otherwise."""
        return self._book.get(announcement_id)

    def announcements(self, *, open_only: bool = False, service: str | None = None) -> list[Announcement]:
        """Announcements, newest first."""
        return self._book.listing(open_only=open_only, service=service)

    def announcements_for(self, customer: str) -> list[Announcement]:
        """Open announcements about the services this customer subscribes to or uses (their CIs)."""
        return self._book.for_customer(customer)

    def ledger(self, announcement_id: int) -> Ledger:
        """Notified, affected, confirmed fixed, still broken, no answer: the service desk's view."""
        return self._book.ledger(announcement_id)

    def subscribe(self, customer: str, service: str) -> None:
        """The customer asks to hear about the service's announcements."""
        self._subscriptions.subscribe(customer, service)

    def unsubscribe(self, customer: str, service: str) -> None:
        """The customer asks not to; remembered, so the CMDB does not subscribe them again."""
        self._subscriptions.unsubscribe(customer, service)

    def subscriptions_of(self, customer: str) -> list[str]:
        """The keys of the services the customer hears announcements about (active subscriptions), sorted."""
        return self._subscriptions.of_customer(customer)

    def subscribers(self, service: str) -> list[str]:
        """The service's active subscribers (after adding those the config and the CMDB name)."""
        self._subscriptions.sync_derived(service)
        return self._subscriptions.subscribers(service)

    # ------------------------------------------------------------------ surveys

    def survey_method(self) -> tuple[str, SurveyMethod]:
        """The deployment's transactional survey method: its name and the method itself."""
        return self._surveys.method()

    def survey_link(self, demand_id: int, customer_id: str) -> str:
        """A signed link to the survey about one demand."""
        return self._surveys.link(demand_id, customer_id)

    def survey_allowed(self, customer_id: str, demand: Demand | None = None) -> tuple[bool, str]:
        """Survey governance: one survey per period, none while still affected by an outage, none after self-help."""
        return self._surveys.allowed(customer_id, demand)

    def survey_asked(self, token: str) -> Demand:
        """The demand a survey link asks about, checked at once without changing anything.

        ``InvalidLink`` when tampered with or expired; Conflict when it was answered already.
        """
        return self._surveys.asked(token)

    def ask_for_feedback(self, demand_id: int) -> int | None:
        """After a confirmed outcome, send a transactional survey if the rules allow; returns the job id."""
        with log_context(demand_id=demand_id):
            return self._surveys.ask_for_feedback(demand_id)

    def answer_survey(
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
        """Store a survey answer, validated against the method's scale (out of scale is refused, never counted).

        Answering a demand's survey a second time is a :class:`~itsmcore.errors.Conflict`.
        """
        return self._surveys.answer(
            score,
            customer=customer,
            method=method,
            comment=comment,
            demand_id=demand_id,
            token=token,
            channel=channel,
            mode=mode,
        )

    # ------------------------------------------------------------------ reviews

    def review(
        self,
        demand_id: int,
        customer: str,
        rating: int,
        text: str = "",
        *,
        anonymous: bool = False,
        channel: str = "portal",
    ) -> Review:
        """The customer's 1-5 rating and words about the service of their fulfilled (or closed) value demand.

        Recorded as a journey event at the ``share`` stage. NotFound when the demand is not
        theirs; InvalidAnswers for a rating outside 1-5 or a text over ``[survey_rules]
        review_max_chars``; Conflict when it is not a fulfilled value demand or is reviewed already.
        """
        return self._reviews.review(demand_id, customer, rating, text, anonymous=anonymous, channel=channel)

    def hide_review(self, review_id: int, by: str, reason: str) -> Review:
        """Hide a review from colleagues; it is kept with who hid it and why (Conflict if hidden already)."""
        return self._reviews.hide(review_id, by, reason)

    def get_review(self, review_id: int) -> Review:
        """The review, hidden or not; NotFound otherwise."""
        return self._reviews.get(review_id)

    def review_of(self, demand_id: int) -> Review | None:
        """The review of one demand, hidden or not, or ``None``."""
        return self._reviews.of_demand(demand_id)

    def reviews(self, service_key: str, *, include_hidden: bool = False, limit: int = 50) -> list[Review]:
        """A service's reviews, newest first: visible ones for colleagues, ``include_hidden`` for the desk."""
        return self._reviews.listing(service_key, include_hidden=include_hidden, limit=limit)

    def review_summary(self, service_key: str, *, recent: int = 5) -> ReviewSummary:
        """What colleagues read on a service's page: the average, the count and the latest visible reviews."""
        return self._reviews.summary(service_key, recent=recent)

    def review_summaries(self, service_keys: Iterable[str]) -> dict[str, ReviewSummary]:
        """Average and count of visible reviews per service, in one query (search results)."""
        return self._reviews.summaries(service_keys)
