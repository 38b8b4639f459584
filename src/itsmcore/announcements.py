"""Service-status announcements: fan-out in batches, "this affects me", confirm links, follow-ups.

The audience of an announcement and its notification jobs are written by the database
itself (``INSERT ... SELECT``) a batch at a time, each batch in its own transaction and
each batch queued as a durable job, so an announcement to 100,000 subscribers holds no
list of them in memory and resumes where it stopped after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import JSON, Connection, Integer, String, and_, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql

from .errors import InvalidAnswers, NotFound, UnknownService
from .links import InvalidLink, sign, verify
from .model import Actor, Announcement, AnnouncementState, DemandKind, DemandState, Link, Stage
from .store import tables as t

if TYPE_CHECKING:
    from .desk import Desk

ANN = t.announcements
AUD = t.announcement_customers
SUB = t.subscriptions


@attrs.frozen(kw_only=True)
class Ledger:
    """Where every customer of an announcement stands, for the service desk."""

    announcement: Announcement
    subscribers: int
    notified: int
    affected: int
    confirmed_fixed: int
    still_broken: int
    no_answer: int
    followed_up: int
    unreachable: int


def _row(r: Any) -> Announcement:
    from .desk import _aware

    return Announcement(
        id=r.id,
        service_key=r.service_key,
        title=r.title,
        description=r.description,
        workaround=r.workaround,
        workaround_links=tuple(Link(title=x["title"], url=x["url"]) for x in (r.workaround_links or [])),
        estimate=r.estimate,
        state=AnnouncementState(r.state),
        source=r.source,
        opened_at=_aware(r.opened_at),  # type: ignore[arg-type]
        updated_at=_aware(r.updated_at),  # type: ignore[arg-type]
        resolved_at=_aware(r.resolved_at),
        resolution=r.resolution,
    )


def get(desk: Desk, announcement_id: int) -> Announcement:
    with desk.engine.connect() as conn:
        r = conn.execute(select(ANN).where(ANN.c.id == announcement_id)).first()
    if r is None:
        raise NotFound(f"unknown announcement {announcement_id}")
    return _row(r)


def listing(desk: Desk, *, open_only: bool = False, service: str | None = None) -> list[Announcement]:
    q = select(ANN).order_by(ANN.c.id.desc())
    if open_only:
        q = q.where(ANN.c.state == "open")
    if service:
        q = q.where(ANN.c.service_key == service)
    with desk.engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def open_for_service(desk: Desk, service_key: str) -> Announcement | None:
    found = listing(desk, open_only=True, service=service_key)
    return found[0] if found else None


# ---------------------------------------------------------------------------- subscribers


def subscribe(desk: Desk, customer_id: str, service_key: str, source: str = "explicit") -> None:
    desk.get_customer(customer_id)
    desk.get_service(service_key)
    now = desk.clock()
    with desk.engine.begin() as conn:
        done = conn.execute(
            update(SUB)
            .where(SUB.c.service_key == service_key, SUB.c.customer_id == customer_id)
            .values(active=True, source=source)
        )
        if done.rowcount == 0:
            conn.execute(
                insert(SUB).values(
                    service_key=service_key, customer_id=customer_id, source=source, active=True, since=now
                )
            )


def unsubscribe(desk: Desk, customer_id: str, service_key: str) -> None:
    now = desk.clock()
    with desk.engine.begin() as conn:
        done = conn.execute(
            update(SUB).where(SUB.c.service_key == service_key, SUB.c.customer_id == customer_id).values(active=False)
        )
        if done.rowcount == 0:  # remember the choice so CMDB derivation does not add them back
            conn.execute(
                insert(SUB).values(
                    service_key=service_key, customer_id=customer_id, source="explicit", active=False, since=now
                )
            )


def sync_derived(desk: Desk, service_key: str) -> int:
    """Subscribe customers the CMDB says use the service, and the config's named subscribers."""
    svc = desk.get_service(service_key)
    now = desk.clock()
    wanted: dict[str, str] = dict.fromkeys(svc.subscribers, "config")
    for c in desk.list_customers():
        for ci in desk.configuration_items(c.id):
            if ci.attributes.get("service") == service_key:
                wanted.setdefault(c.id, "cmdb")
    if not wanted:
        return 0
    with desk.engine.begin() as conn:
        have = set(conn.execute(select(SUB.c.customer_id).where(SUB.c.service_key == service_key)).scalars())
        rows = [
            {"service_key": service_key, "customer_id": cid, "source": src, "active": True, "since": now}
            for cid, src in wanted.items()
            if cid not in have
        ]
        if rows:
            conn.execute(insert(SUB), rows)
    return len(rows)


def subscribers(desk: Desk, service_key: str) -> list[str]:
    with desk.engine.connect() as conn:
        return list(
            conn.execute(
                select(SUB.c.customer_id)
                .where(SUB.c.service_key == service_key, SUB.c.active.is_(True))
                .order_by(SUB.c.customer_id)
            ).scalars()
        )


# ---------------------------------------------------------------------------- lifecycle


def open_announcement(
    desk: Desk,
    service_key: str,
    title: str,
    *,
    description: str = "",
    workaround: str = "",
    links: Iterable[Link] = (),
    estimate: str = "",
    source: str = "agent",
) -> Announcement:
    if service_key not in {s.key for s in desk.services}:
        desk.get_service(service_key)  # raises with did-you-mean
        raise UnknownService(service_key)
    if not title.strip():
        raise InvalidAnswers({"title": "an announcement needs a title saying what is wrong"})
    sync_derived(desk, service_key)
    now = desk.clock()
    with desk.engine.begin() as conn:
        aid = conn.execute(
            insert(ANN).values(
                service_key=service_key,
                title=title.strip(),
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
        jid = _queue_fanout(conn, desk, aid, "opened", 0, now)
    ann = get(desk, aid)
    desk.host.announcement_published(desk, ann, "opened", desk._on_error(None))
    desk._wake([jid])
    return ann


def update_announcement(
    desk: Desk,
    announcement_id: int,
    *,
    description: str | None = None,
    workaround: str | None = None,
    links: Iterable[Link] | None = None,
    estimate: str | None = None,
) -> Announcement:
    ann = get(desk, announcement_id)
    if ann.state != AnnouncementState.OPEN:
        raise InvalidAnswers({"announcement": f"announcement {announcement_id} is already resolved"})
    values: dict[str, Any] = {"updated_at": desk.clock()}
    if description is not None:
        values["description"] = description
    if workaround is not None:
        values["workaround"] = workaround
    if links is not None:
        values["workaround_links"] = [{"title": x.title, "url": x.url} for x in links]
    if estimate is not None:
        values["estimate"] = estimate
    now = desk.clock()
    with desk.engine.begin() as conn:
        conn.execute(update(ANN).where(ANN.c.id == announcement_id).values(**values))
        n = conn.execute(
            select(func.count())
            .select_from(t.jobs)
            .where(t.jobs.c.announcement_id == announcement_id, t.jobs.c.action == "itsm.fanout")
        ).scalar_one()
        jid = _queue_fanout(conn, desk, announcement_id, f"updated{n}", 0, now)
    ann = get(desk, announcement_id)
    desk.host.announcement_published(desk, ann, "updated", desk._on_error(None))
    desk._wake([jid])
    return ann


def resolve_announcement(desk: Desk, announcement_id: int, resolution: str) -> Announcement:
    ann = get(desk, announcement_id)
    if ann.state != AnnouncementState.OPEN:
        raise InvalidAnswers(
            {"announcement": f"announcement {announcement_id} was already resolved at {ann.resolved_at:%Y-%m-%d %H:%M}"}
        )
    now = desk.clock()
    settings = desk.config.announcements
    with desk.engine.begin() as conn:
        done = conn.execute(
            update(ANN)
            .where(ANN.c.id == announcement_id, ANN.c.state == "open")
            .values(state="resolved", resolution=resolution, resolved_at=now, updated_at=now)
        )
        if done.rowcount != 1:
            raise InvalidAnswers({"announcement": f"announcement {announcement_id} was already resolved"})
        # the linked incidents of affected customers are resolved; each asks for confirmation
        linked = conn.execute(
            select(t.demands.c.id).where(
                t.demands.c.announcement_id == announcement_id,
                t.demands.c.kind == "failure",
                t.demands.c.state.in_(["new", "in_progress"]),
            )
        ).scalars()
        for did in linked:
            desk._set_state(conn, did, DemandState.RESOLVED, now, stage=Stage.OUTCOME, waiting_for="your confirmation")
            desk._insert_event(
                conn,
                did,
                Stage.OUTCOME,
                "announcement",
                str(Actor.AGENT),
                f"Fixed: {resolution} Please tell us whether it works for you again.",
                f"announcement {announcement_id} resolved",
                0,
                "outcome",
                now,
            )
        jid = _queue_fanout(conn, desk, announcement_id, "resolved", 0, now)
        conn.execute(
            insert(t.jobs).values(
                announcement_id=announcement_id,
                action="itsm.follow_up",
                step=-1,
                params={"announcement_id": announcement_id},
                key=f"{desk.name}:announcement:{announcement_id}:follow-up",
                state="pending",
                attempts=0,
                max_attempts=5,
                run_after=now + timedelta(hours=settings.follow_up_after_hours),
                created_at=now,
            )
        )
    ann = get(desk, announcement_id)
    desk.host.announcement_published(desk, ann, "resolved", desk._on_error(None))
    desk._wake([jid])
    return ann


def affects_me(desk: Desk, announcement_id: int, customer_id: str, channel: str = "portal") -> int:
    """The customer says the announcement affects them; returns their (linked) incident's id."""
    ann = get(desk, announcement_id)
    customer = desk.get_customer(customer_id)
    if ann.state != AnnouncementState.OPEN:
        raise InvalidAnswers(
            {"announcement": "This problem has already been fixed. If it still affects you, please report it."}
        )
    existing = _linked_demand(desk, announcement_id, customer.id)
    if existing is not None:
        return existing
    receipt = desk.submit(
        DemandKind.FAILURE,
        customer,
        f"Affected by: {ann.title}",
        service=ann.service_key,
        channel=channel,
        announcement_id=announcement_id,
        cause="affects_me",
        effort=1,
    )
    return receipt.demand.id


def _linked_demand(desk: Desk, announcement_id: int, customer_id: str) -> int | None:
    with desk.engine.connect() as conn:
        return conn.execute(
            select(t.demands.c.id)
            .where(t.demands.c.announcement_id == announcement_id, t.demands.c.customer_id == customer_id)
            .order_by(t.demands.c.id)
            .limit(1)
        ).scalar()


def mark_affected(conn: Connection, desk: Desk, announcement_id: int, customer_id: str, now: datetime) -> None:
    """Put the customer on the affected list (called in the intake transaction)."""
    done = conn.execute(
        update(AUD)
        .where(AUD.c.announcement_id == announcement_id, AUD.c.customer_id == customer_id)
        .values(affected=True, affected_at=now)
    )
    if done.rowcount == 0:
        conn.execute(
            insert(AUD).values(
                announcement_id=announcement_id,
                customer_id=customer_id,
                subscriber=False,
                affected=True,
                affected_at=now,
            )
        )


@attrs.frozen
class _Claim:
    target: int
    customer_id: str


def confirm_link(desk: Desk, announcement_id: int, customer_id: str) -> str:
    ttl = timedelta(days=desk.config.announcements.confirm_link_days)
    token = sign(desk.secret(), "announcement", announcement_id, customer_id, desk.clock(), ttl)
    return f"{desk.config.deployment.public_url.rstrip('/')}/confirm/{token}"


def confirm(desk: Desk, token: str, fixed: bool, *, customer_id: str | None = None) -> int:
    """Answer of the confirm link: fixed closes the customer's part, not fixed reopens it.

    Returns the customer's demand id. ``customer_id``, when given (a signed-in portal
    session), must be the customer the link was made for.
    """
    claim = verify(desk.secret(), token.rsplit("/", 1)[-1], desk.clock(), purpose="announcement")
    if customer_id is not None and customer_id != claim.customer_id:
        raise InvalidLink("This link was sent to someone else. Please use the link from your own message.")
    return confirm_for(desk, claim.target, claim.customer_id, fixed, channel="email")


def confirm_for(desk: Desk, announcement_id: int, customer_id: str, fixed: bool, *, channel: str = "portal") -> int:
    """A customer's answer to "is it fixed for you?", however they gave it; returns their demand id."""
    ann = get(desk, announcement_id)
    claim = _Claim(target=ann.id, customer_id=customer_id)
    now = desk.clock()
    with desk.engine.begin() as conn:
        conn.execute(
            update(AUD)
            .where(AUD.c.announcement_id == ann.id, AUD.c.customer_id == claim.customer_id)
            .values(response="fixed" if fixed else "still_broken", responded_at=now)
        )
    did = _linked_demand(desk, ann.id, claim.customer_id)
    if fixed:
        if did is not None and desk.get(did).state == DemandState.RESOLVED:
            desk.transition(
                did,
                DemandState.CLOSED,
                actor=Actor.CUSTOMER,
                channel=channel,
                stage=Stage.CONFIRM,
                customer_sees="You confirmed it works again. Thank you!",
                behind_scenes=f"customer confirmed the fix of announcement {ann.id}",
            )
            desk.ask_for_feedback(did)
        return did or 0
    if did is not None and desk.get(did).state == DemandState.RESOLVED:
        desk.transition(
            did,
            DemandState.IN_PROGRESS,
            actor=Actor.CUSTOMER,
            channel=channel,
            stage=Stage.FULFIL,
            customer_sees="You told us it is still broken. We have reopened your report and are on it.",
            behind_scenes=f"customer says announcement {ann.id} is not fixed for them; incident reopened",
        )
        return did
    receipt = desk.submit(
        DemandKind.FAILURE,
        claim.customer_id,
        f"Still broken after: {ann.title}",
        service=ann.service_key,
        channel=channel,
        details=f"Announcement {ann.id} ({ann.title}) was resolved: {ann.resolution}",
        caused_by=did,
        cause="not_fixed",
        effort=1,
    )
    return receipt.demand.id


def ledger(desk: Desk, announcement_id: int) -> Ledger:
    ann = get(desk, announcement_id)
    with desk.engine.connect() as conn:

        def count(*conds: Any) -> int:
            return conn.execute(
                select(func.count()).select_from(AUD).where(AUD.c.announcement_id == announcement_id, *conds)
            ).scalar_one()

        notified = conn.execute(
            select(func.count(func.distinct(t.messages.c.customer_id)))
            .select_from(t.messages.join(t.jobs, t.messages.c.job_id == t.jobs.c.id))
            .where(t.jobs.c.announcement_id == announcement_id)
        ).scalar_one()
        unreachable = conn.execute(
            select(func.count(func.distinct(t.messages.c.customer_id)))
            .select_from(t.messages.join(t.jobs, t.messages.c.job_id == t.jobs.c.id))
            .where(t.jobs.c.announcement_id == announcement_id, t.messages.c.fallback.is_(True))
        ).scalar_one()
        return Ledger(
            announcement=ann,
            subscribers=count(AUD.c.subscriber.is_(True)),
            notified=notified,
            affected=count(AUD.c.affected.is_(True)),
            confirmed_fixed=count(AUD.c.affected.is_(True), AUD.c.response == "fixed"),
            still_broken=count(AUD.c.affected.is_(True), AUD.c.response == "still_broken"),
            no_answer=count(AUD.c.affected.is_(True), AUD.c.response.is_(None))
            if ann.state == AnnouncementState.RESOLVED
            else 0,
            followed_up=count(AUD.c.followed_up_at.is_not(None)),
            unreachable=unreachable,
        )


# ---------------------------------------------------------------------------- jobs


def _queue_fanout(
    conn: Connection, desk: Desk, aid: int, change: str, batch: int, now: datetime, after: str = ""
) -> int:
    """Queue a batch of the fan-out. Queuing one twice (a batch re-run after its runner died) is a no-op."""
    done = conn.execute(
        _insert_ignore(conn, t.jobs).values(
            announcement_id=aid,
            action="itsm.fanout",
            step=-1,
            params={"announcement_id": aid, "change": change, "batch": batch, "after": after},
            key=f"{desk.name}:announcement:{aid}:{change}:batch:{batch}",
            state="pending",
            attempts=0,
            max_attempts=5,
            run_after=now,
            created_at=now,
        )
    )
    key = done.inserted_primary_key
    return int(key[0]) if key and key[0] is not None else 0  # 0: it was there already


def _insert_ignore(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    # SQLite cannot parse ON CONFLICT after INSERT ... SELECT without a WHERE; OR IGNORE says the same
    return insert(table).prefix_with("OR IGNORE")


def _message(desk: Desk, ann: Announcement, change: str) -> tuple[str, str, list[dict[str, str]]]:
    links = [{"title": x.title, "url": x.url} for x in ann.workaround_links]
    service = desk.get_service(ann.service_key).name
    if change == "resolved":
        return (
            f"Fixed: {ann.title}",
            f"{service} is working again. {ann.resolution}".strip(),
            [],
        )
    lines = [f"{service}: {ann.title}."]
    if ann.description:
        lines.append(ann.description)
    if ann.workaround:
        lines.append(f"Meanwhile: {ann.workaround}")
    if ann.estimate:
        lines.append(f"We expect it fixed {ann.estimate}.")
    verb = "Update" if change.startswith("updated") else "Known problem"
    return f"{verb}: {ann.title}", " ".join(lines), links


def run_fanout(desk: Desk, job: Any) -> None:
    """One batch of an announcement's audience and notifications, then queue the next batch."""
    p = job.params
    aid, change, batch, after = int(p["announcement_id"]), str(p["change"]), int(p["batch"]), str(p["after"])
    ann = get(desk, aid)
    size = desk.config.announcements.batch_size
    now = desk.clock()
    subject, text, links = _message(desk, ann, change)
    with desk.engine.begin() as conn:
        if change == "opened":
            source = (
                select(SUB.c.customer_id.label("cid"))
                .where(SUB.c.service_key == ann.service_key, SUB.c.active.is_(True), SUB.c.customer_id > after)
                .order_by(SUB.c.customer_id)
                .limit(size)
                .subquery()
            )
            conn.execute(
                _insert_ignore(conn, AUD).from_select(
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
        params = {
            "purpose": "announcement",
            "subject": subject,
            "text": text,
            "links": links,
            "confirm": change == "resolved",
        }
        prefix = f"{desk.name}:announcement:{aid}:{change}:"
        conn.execute(
            _insert_ignore(conn, t.jobs).from_select(
                [
                    "announcement_id",
                    "customer_id",
                    "action",
                    "step",
                    "params",
                    "key",
                    "state",
                    "attempts",
                    "max_attempts",
                    "run_after",
                    "created_at",
                ],
                select(
                    literal(aid, Integer),
                    source.c.cid,
                    literal("notify", String),
                    literal(-1, Integer),
                    literal(params, JSON),
                    (literal(prefix, String) + source.c.cid),
                    literal("pending", String),
                    literal(0, Integer),
                    literal(5, Integer),
                    literal(now, t.TS),
                    literal(now, t.TS),
                ),
            )
        )
        if last is not None:
            _queue_fanout(conn, desk, aid, change, batch + 1, now, after=last)


def run_follow_up(desk: Desk, job: Any) -> None:
    """Follow up affected customers who neither confirmed nor denied the fix: nobody left behind."""
    aid = int(job.params["announcement_id"])
    ann = get(desk, aid)
    now = desk.clock()
    with desk.engine.connect() as conn:
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
    for cid in pending:
        did = _linked_demand(desk, aid, cid)
        with desk.engine.begin() as conn:
            conn.execute(
                update(AUD)
                .where(and_(AUD.c.announcement_id == aid, AUD.c.customer_id == cid))
                .values(followed_up_at=now)
            )
            if did is not None:
                desk._insert_event(
                    conn,
                    did,
                    Stage.CONFIRM,
                    "announcement",
                    str(Actor.SYSTEM),
                    "We haven't heard from you: is it working again? A colleague from the service desk will call you.",
                    f"no answer {desk.config.announcements.follow_up_after_hours:g} h after announcement {aid} was resolved;"
                    " follow-up task for the service desk and a reminder",
                    0,
                    "follow_up",
                    now,
                )
                conn.execute(
                    update(t.demands).where(t.demands.c.id == did).values(waiting_for="a call from the service desk")
                )
            jobs.append(
                desk._enqueue_notify(
                    conn,
                    did,
                    purpose="reminder",
                    subject=f"Is {desk.get_service(ann.service_key).name} working for you again?",
                    body=f"We fixed: {ann.title}. Please tell us whether it works for you now.",
                    now=now,
                    customer_id=cid,
                    key=f"{desk.name}:announcement:{aid}:reminder:{cid}",
                    confirm_announcement=aid,
                )
            )
    desk._wake(jobs)
