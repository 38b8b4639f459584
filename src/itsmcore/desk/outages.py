"""Outages: announcements opened, updated and resolved; "this affects me"; confirmations; follow-ups.

The audience of an announcement and its notification jobs are written by the database
itself (``INSERT ... SELECT``) a batch at a time, each batch in its own transaction and
each batch queued as a durable job, so an announcement to 100,000 subscribers holds no
list of them in memory and resumes where it stopped after a crash. Resolving an
announcement resolves the linked incidents through the journey writer, so their
observers hear of it like of any other change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Integer, String, and_, func, insert, literal, select, update

from ..components import ActionResult
from ..errors import Conflict, IllegalTransition, InvalidAnswers, NotFound
from ..i18n import N_, Say, later, translator
from ..links import InvalidLink, verify
from ..logs import log_context
from ..model import Actor, Announcement, AnnouncementState, Customer, Demand, DemandKind, DemandState, Link, Stage
from ..model.job import Job
from ..store import rows
from ..store import tables as t
from ..store.sql import insert_ignore
from .announcements import AUD, SUB, Book
from .context import Context
from .customers import Customers
from .demands import Demands
from .handling import FINISHED, Handling
from .intake import Intake
from .journey import Journey
from .outbox import Outbox, job_row, notify_params, pending_columns
from .services import Catalog
from .subscriptions import Subscriptions

ANN = t.announcements

#: Job actions this module runs (registered with job execution by the desk).
FANOUT = "itsm.fanout"
FOLLOW_UP = "itsm.follow_up"


class Outages:
    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        catalog: Catalog,
        demands: Demands,
        book: Book,
        subscriptions: Subscriptions,
        intake: Intake,
        handling: Handling,
        journey: Journey,
        outbox: Outbox,
    ):
        self.ctx = ctx
        self.customers = customers
        self.catalog = catalog
        self.demands = demands
        self.book = book
        self.subscriptions = subscriptions
        self.intake = intake
        self.handling = handling
        self.journey = journey
        self.outbox = outbox

    # ------------------------------------------------------------------ lifecycle

    def open(
        self,
        service_key: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Iterable[Link] = (),
        estimate: str = "",
        source: str = "agent",
    ) -> Announcement:
        """Tell a service's subscribers what is wrong, the workaround and an estimate (in batches, as jobs)."""
        self.catalog.get(service_key)  # raises with did-you-mean
        if not title.strip():
            raise InvalidAnswers({"title": "an announcement needs a title saying what is wrong"})
        self.subscriptions.sync_derived(service_key)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            aid = self.insert(
                conn,
                service_key,
                title.strip(),
                description=description,
                workaround=workaround,
                links=links,
                estimate=estimate,
                source=source,
                now=now,
            )
            jid = self._queue_fanout(conn, aid, "opened", 0, now)
        return self.published(aid, "opened", [jid])

    def insert(
        self,
        conn: Connection,
        service_key: str,
        title: str,
        *,
        description: str = "",
        workaround: str = "",
        links: Iterable[Link] = (),
        estimate: str = "",
        source: str = "agent",
        now: datetime,
    ) -> int:
        """Write an open announcement in the caller's transaction; who hears of it is the caller's business
        (:meth:`open` tells the service's subscribers). Call :meth:`published` once it is committed."""
        return conn.execute(
            insert(ANN).values(
                service_key=service_key,
                title=title,
                description=description,
                workaround=workaround,
                workaround_links=[{"title": x.title, "url": x.url} for x in links],
                estimate=estimate,
                state="open",
                source=source,
                resolution="",
                opened_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]

    def update(
        self,
        announcement_id: int,
        *,
        description: str | None = None,
        workaround: str | None = None,
        links: Iterable[Link] | None = None,
        estimate: str | None = None,
    ) -> Announcement:
        """Change an open announcement's description, workaround, links or estimate, and tell everyone concerned."""
        ann = self.book.get(announcement_id)
        if ann.state != AnnouncementState.OPEN:
            raise Conflict(f"announcement {announcement_id} is already resolved", state=str(ann.state))
        now = self.ctx.clock()
        values: dict[str, Any] = {"updated_at": now}
        if description is not None:
            values["description"] = description
        if workaround is not None:
            values["workaround"] = workaround
        if links is not None:
            values["workaround_links"] = [{"title": x.title, "url": x.url} for x in links]
        if estimate is not None:
            values["estimate"] = estimate
        with self.ctx.engine.begin() as conn:
            conn.execute(update(ANN).where(ANN.c.id == announcement_id).values(**values))
            n = conn.execute(
                select(func.count())
                .select_from(t.jobs)
                .where(t.jobs.c.announcement_id == announcement_id, t.jobs.c.action == FANOUT)
            ).scalar_one()
            jid = self._queue_fanout(conn, announcement_id, f"updated{n}", 0, now)
        return self.published(announcement_id, "updated", [jid])

    def resolve(self, announcement_id: int, resolution: str) -> Announcement:
        """Announce the fix; affected customers get a signed link to confirm it (or say it is still broken)."""
        ann = self.book.get(announcement_id)
        if ann.state != AnnouncementState.OPEN:
            raise Conflict(
                f"announcement {announcement_id} was already resolved at {ann.resolved_at:%Y-%m-%d %H:%M}",
                state=str(ann.state),
            )
        now = self.ctx.clock()
        settings = self.ctx.config.announcements
        with self.journey.begin() as change:
            conn = change.conn
            done = conn.execute(
                update(ANN)
                .where(ANN.c.id == announcement_id, ANN.c.state == "open")
                .values(state="resolved", resolution=resolution, resolved_at=now, updated_at=now)
            )
            if done.rowcount != 1:
                raise Conflict(f"announcement {announcement_id} was already resolved", state="resolved")
            # the linked incidents of affected customers are resolved; each asks for confirmation
            linked = conn.execute(
                select(t.demands)
                .where(
                    t.demands.c.announcement_id == announcement_id,
                    t.demands.c.kind == "failure",
                    t.demands.c.state.in_(["new", "in_progress"]),
                )
                .order_by(t.demands.c.id)
                .with_for_update(key_share=True)  # nobody moves them between this read and the writes below
            ).all()
            for row in linked:
                change.record(
                    rows.demand(row),
                    state=DemandState.RESOLVED,
                    stage=Stage.OUTCOME,
                    waiting_for="your confirmation",
                    channel="announcement",
                    actor=Actor.AGENT,
                    customer_sees=f"Fixed: {resolution} Please tell us whether it works for you again.",
                    behind_scenes=f"announcement {announcement_id} resolved",
                    kind="outcome",
                    at=now,
                )
            jid = self._queue_fanout(conn, announcement_id, "resolved", 0, now)
            self.outbox.add(
                conn,
                job_row(
                    action=FOLLOW_UP,
                    key=f"{self.ctx.key_prefix}:announcement:{announcement_id}:follow-up",
                    now=now,
                    params={"announcement_id": announcement_id},
                    announcement_id=announcement_id,
                    run_after=now + timedelta(hours=settings.follow_up_after_hours),
                ),
            )
        return self.published(announcement_id, "resolved", [jid])

    def published(self, announcement_id: int, change: str, job_ids: Sequence[int] = ()) -> Announcement:
        """After commit: tell the plugins (``itsm_announcement_published``) and wake the change's jobs."""
        ann = self.book.get(announcement_id)
        self.ctx.host.announcement_published(self.ctx.desk, ann, change, self.ctx.on_error(None))
        self.outbox.wake(job_ids)
        return ann

    # ------------------------------------------------------------------ customers' answers

    def affects_me(self, announcement_id: int, customer_id: str, channel: str = "portal") -> int:
        """The customer says the announcement affects them; returns their (linked) incident's id."""
        ann = self.book.get(announcement_id)
        customer = self.customers.get(customer_id)
        if ann.state != AnnouncementState.OPEN:
            raise Conflict(
                "This problem has already been fixed. If it still affects you, please report it.",
                state=str(ann.state),
            )
        existing = self.book.linked_demand(announcement_id, customer.id)
        if existing is not None:
            return existing
        receipt = self.intake.submit(
            DemandKind.FAILURE,
            customer,
            self.intake.translator_for(customer)(N_("Affected by: {title}"), title=ann.title),
            service=ann.service_key,
            channel=channel,
            announcement_id=announcement_id,
            cause="affects_me",
            effort=1,
        )
        return receipt.demand.id

    def confirm_asked(self, token: str) -> Announcement:
        """The announcement a confirm link asks about, checked at once without changing anything.

        ``InvalidLink`` when tampered with or expired; Conflict when its customer answered already.
        """
        claim = verify(self.ctx.secret(), token.rsplit("/", 1)[-1], self.ctx.clock(), purpose="announcement")
        ann = self.book.get(claim.target)
        with self.ctx.engine.connect() as conn:
            response = conn.execute(
                select(AUD.c.response).where(AUD.c.announcement_id == ann.id, AUD.c.customer_id == claim.customer_id)
            ).scalar()
        if response == "fixed":
            raise Conflict(
                "You already told us this works again. Thank you! If it stops working, please report it again.",
                state=response,
            )
        if response:
            raise Conflict(
                "You already told us this is still broken, and we are on it. You can follow it under My requests.",
                state=response,
            )
        return ann

    def confirm(self, token: str, fixed: bool, *, customer_id: str | None = None) -> int:
        """Answer of the confirm link: fixed closes the customer's part, not fixed reopens it.

        Returns the customer's demand id. ``customer_id``, when given (a signed-in portal
        session), must be the customer the link was made for.
        """
        claim = verify(self.ctx.secret(), token.rsplit("/", 1)[-1], self.ctx.clock(), purpose="announcement")
        if customer_id is not None and customer_id != claim.customer_id:
            raise InvalidLink(N_("This link was sent to someone else. Please use the link from your own message."))
        return self.confirm_for(claim.target, claim.customer_id, fixed, channel="email")

    def confirm_for(self, announcement_id: int, customer_id: str, fixed: bool, *, channel: str = "portal") -> int:
        """A customer's answer to "is it fixed for you?", however they gave it; returns their demand id."""
        ann = self.book.get(announcement_id)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            conn.execute(
                update(AUD)
                .where(AUD.c.announcement_id == ann.id, AUD.c.customer_id == customer_id)
                .values(response="fixed" if fixed else "still_broken", responded_at=now)
            )
        did = self.book.linked_demand(ann.id, customer_id)
        demand = self.demands.get(did) if did is not None else None
        if fixed:
            if demand is not None and demand.state == DemandState.RESOLVED:
                self.handling.transition(
                    demand.id,
                    DemandState.CLOSED,
                    actor=Actor.CUSTOMER,
                    channel=channel,
                    stage=Stage.CONFIRM,
                    customer_sees="You confirmed it works again. Thank you!",
                    behind_scenes=f"customer confirmed the fix of announcement {ann.id}",
                )  # the builtin feedback plugin asks how it went
            return did or 0
        if demand is not None and demand.state == DemandState.RESOLVED:
            self.handling.transition(
                demand.id,
                DemandState.IN_PROGRESS,
                actor=Actor.CUSTOMER,
                channel=channel,
                stage=Stage.FULFIL,
                customer_sees="You told us it is still broken. We have reopened your report and are on it.",
                behind_scenes=f"customer says announcement {ann.id} is not fixed for them; incident reopened",
            )
            return demand.id
        receipt = self.intake.submit(
            DemandKind.FAILURE,
            customer_id,
            f"Still broken after: {ann.title}",
            service=ann.service_key,
            channel=channel,
            details=f"Announcement {ann.id} ({ann.title}) was resolved: {ann.resolution}",
            caused_by=did,
            cause="not_fixed",
            effort=1,
        )
        return receipt.demand.id

    def confirm_demand(self, demand_id: int, customer: str, fixed: bool, *, channel: str = "portal") -> int:
        """A signed-in customer's answer to "is it sorted?" for their own finished demand (see ``Desk.confirm_demand``)."""
        with log_context(demand_id=demand_id):
            demand = self.demands.get(demand_id)
            if demand.customer_id != customer:
                raise NotFound(f"unknown demand {demand_id}")
            if demand.announcement_id is not None:
                return self.confirm_for(demand.announcement_id, customer, fixed, channel=channel)
            if demand.state != FINISHED[demand.kind]:
                raise IllegalTransition(demand_id, demand.kind, demand.state, DemandState.CLOSED)
            if fixed:
                self.handling.transition(
                    demand_id,
                    DemandState.CLOSED,
                    actor=Actor.CUSTOMER,
                    channel=channel,
                    stage=Stage.CONFIRM,
                    customer_sees="You confirmed it is sorted. Thank you!",
                    behind_scenes="customer confirmed the outcome",
                )  # the builtin feedback plugin asks how it went
                return demand_id
            again = DemandState.IN_FULFILMENT if demand.kind == DemandKind.VALUE else DemandState.IN_PROGRESS
            self_served = demand.kind == DemandKind.INFORMATION and self._self_served(demand_id)
            with self.journey.begin() as change:
                if self_served:  # the answer did not help: it no longer counts as solved by self-service
                    change.conn.execute(update(t.demands).where(t.demands.c.id == demand_id).values(self_service=False))
                self.handling.move(
                    change,
                    demand,
                    again,
                    actor=Actor.CUSTOMER,
                    channel=channel,
                    stage=Stage.FULFIL,
                    customer_sees="You told us you still need help, so someone from IT will answer you."
                    if self_served
                    else "You told us it is not sorted yet. We have reopened it and are on it.",
                    behind_scenes="the self-service answer did not help; routed to the service desk"
                    if self_served
                    else "customer says the outcome is not right; reopened",
                )
            return demand_id

    def _self_served(self, demand_id: int) -> bool:
        with self.ctx.engine.connect() as conn:
            return bool(conn.execute(select(t.demands.c.self_service).where(t.demands.c.id == demand_id)).scalar())

    def links_for(self, job: Job, customer: Customer, demand: Demand | None) -> Sequence[Link]:
        """The link provider for a resolution message: "yes, it works" / "no, still broken" for the affected."""
        aid = job.announcement_id
        if not (job.params.get("confirm") and aid is not None and self.book.is_affected(aid, customer.id)):
            return ()
        url = self.book.confirm_link(aid, customer.id)
        return (
            Link(title=N_("Yes, it works again"), url=f"{url}?fixed=yes"),
            Link(title=N_("No, still broken"), url=f"{url}?fixed=no"),
        )

    # ------------------------------------------------------------------ jobs

    def _queue_fanout(self, conn: Connection, aid: int, change: str, batch: int, now: datetime, after: str = "") -> int:
        """Queue a batch of the fan-out. Queuing one twice (a batch re-run after its runner died) is a no-op."""
        return self.outbox.add(
            conn,
            job_row(
                action=FANOUT,
                key=f"{self.ctx.key_prefix}:announcement:{aid}:{change}:batch:{batch}",
                now=now,
                params={"announcement_id": aid, "change": change, "batch": batch, "after": after},
                announcement_id=aid,
            ),
        )

    def _message(self, ann: Announcement, change: str) -> tuple[str, str, list[dict[str, str]], dict[str, Any]]:
        """Subject, text and links in English, and the same as :class:`~itsmcore.i18n.Say` for other languages."""
        links = [{"title": x.title, "url": x.url} for x in ann.workaround_links]
        service = self.catalog.get(ann.service_key).name
        text: list[Say | str]
        if change == "resolved":
            subject = later("Fixed: {title}", title=ann.title)
            text = [later("{service} is working again.", service=service), ann.resolution.strip()]
            links = []
        else:
            text = [later("{service}: {title}.", service=service, title=ann.title), ann.description]
            if ann.workaround:
                text.append(later("Meanwhile: {workaround}", workaround=ann.workaround))
            if ann.estimate:
                text.append(later("We expect it fixed {estimate}.", estimate=ann.estimate))
            verb = N_("Update: {title}") if change.startswith("updated") else N_("Known problem: {title}")
            subject = later(verb, title=ann.title)
        en = translator()
        return en.render(subject), en.render(text), links, {"subject": subject, "text": text}

    def run_fanout(self, job: Job) -> ActionResult:
        """One batch of an announcement's audience and notifications, then queue the next batch."""
        p = job.params
        aid, change, batch, after = int(p["announcement_id"]), str(p["change"]), int(p["batch"]), str(p["after"])
        ann = self.book.get(aid)
        size = self.ctx.config.announcements.batch_size
        now = self.ctx.clock()
        subject, text, links, said = self._message(ann, change)
        with self.ctx.engine.begin() as conn:
            if change == "opened":
                source = (
                    select(SUB.c.customer_id.label("cid"))
                    .where(SUB.c.service_key == ann.service_key, SUB.c.active.is_(True), SUB.c.customer_id > after)
                    .order_by(SUB.c.customer_id)
                    .limit(size)
                    .subquery()
                )
                conn.execute(
                    insert_ignore(conn, AUD).from_select(
                        ["announcement_id", "customer_id", "subscriber", "affected"],
                        select(literal(aid, Integer), source.c.cid, literal(True), literal(False)),
                    )
                )
            else:
                source = (
                    select(AUD.c.customer_id.label("cid"))
                    .where(AUD.c.announcement_id == aid, AUD.c.customer_id > after)
                    .order_by(AUD.c.customer_id)
                    .limit(size)
                    .subquery()
                )
            last = conn.execute(select(func.max(source.c.cid))).scalar()
            params = notify_params(
                purpose="announcement",
                subject=subject,
                text=text,
                links=links,
                confirm=change == "resolved",
                say=said,
            )
            prefix = f"{self.ctx.key_prefix}:announcement:{aid}:{change}:"
            fixed = pending_columns(now)
            conn.execute(
                insert_ignore(conn, t.jobs).from_select(
                    ["announcement_id", "customer_id", "action", "step", "params", "key", *fixed],
                    select(
                        literal(aid, Integer),
                        source.c.cid,
                        literal("notify", String),
                        literal(-1, Integer),
                        literal(params, JSON),
                        (literal(prefix, String) + source.c.cid),
                        *fixed.values(),
                    ),
                )
            )
            if last is not None:
                self._queue_fanout(conn, aid, change, batch + 1, now, after=last)
        return ActionResult()

    def run_follow_up(self, job: Job) -> ActionResult:
        """Follow up affected customers who neither confirmed nor denied the fix: nobody left behind."""
        aid = int(job.params["announcement_id"])
        ann = self.book.get(aid)
        now = self.ctx.clock()
        hours = self.ctx.config.announcements.follow_up_after_hours
        with self.ctx.engine.connect() as conn:
            pending = list(
                conn.execute(
                    select(AUD.c.customer_id).where(
                        AUD.c.announcement_id == aid,
                        AUD.c.affected.is_(True),
                        AUD.c.response.is_(None),
                        AUD.c.followed_up_at.is_(None),
                    )
                ).scalars()
            )
        jobs = []
        service = self.catalog.get(ann.service_key).name
        for cid in pending:
            did = self.book.linked_demand(aid, cid)
            with self.journey.begin() as change:
                change.conn.execute(
                    update(AUD)
                    .where(and_(AUD.c.announcement_id == aid, AUD.c.customer_id == cid))
                    .values(followed_up_at=now)
                )
                if did is not None:
                    change.record(
                        did,
                        stage=Stage.CONFIRM,
                        waiting_for="a call from the service desk",
                        channel="announcement",
                        actor=Actor.SYSTEM,
                        customer_sees="We haven't heard from you: is it working again?"
                        " A colleague from the service desk will call you.",
                        behind_scenes=f"no answer {hours:g} h after announcement {aid} was resolved;"
                        " follow-up task for the service desk and a reminder",
                        kind="follow_up",
                        at=now,
                    )
                subject = later("Is {service} working for you again?", service=service)
                body = later("We fixed: {title}. Please tell us whether it works for you now.", title=ann.title)
                en = translator()
                jobs.append(
                    self.outbox.notify(
                        change.conn,
                        did,
                        purpose="reminder",
                        subject=en.render(subject),
                        body=en.render(body),
                        say={"subject": subject, "text": body},
                        now=now,
                        customer_id=cid,
                        key=f"{self.ctx.key_prefix}:announcement:{aid}:reminder:{cid}",
                        confirm_announcement=aid,
                    )
                )
        self.outbox.wake(jobs)
        return ActionResult()
