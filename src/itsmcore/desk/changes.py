"""Planned changes: a change record, its approvers' decisions, its announcements and its calendar.

A change names the services and configuration items it touches (an item's services are
found by the CMDB's impact walk), a window, a risk and its approvers. Each approver
decides once, through the approval mechanism requests use (:class:`~.approvals.Approvals`
records who decided and for whom); every approver's yes approves the change, one no
rejects it. An approved change with customer impact is announced to the subscribers of
its services ``[changes] notice_hours`` before its window by a durable job (``run_after``),
and the same announcements are updated when the work starts and resolved when it ends,
so subscribers hear of it through the outage machinery they already know.

:func:`change_sentence` is the one sentence a customer reads about a change: self-service
answers ("will the quote system upgrade be done by Thursday?") and the portal use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..components import ActionResult
from ..errors import ConfigError, ConfigProblem, Conflict, Forbidden, InvalidAnswers, InvalidInput, NotFound
from ..i18n import N_, Translator, translator
from ..model import CHANGE_TRANSITIONS, ChangeDecision, ChangeRisk, ChangeState, Link, PlannedChange
from ..model.job import Job
from ..store import tables as t
from .context import Context
from .outbox import job_row

if TYPE_CHECKING:
    from .approvals import Approvals
    from .cmdb import Cmdb
    from .customers import Customers
    from .outages import Outages
    from .outbox import Outbox
    from .services import Catalog

CH = t.planned_changes
DEC = t.change_decisions

#: The job that announces an approved change to its services' subscribers ahead of its window.
CHANGE_NOTICE = "itsm.change_notice"
#: The job that reminds an approver who has not decided yet (``[approvals] remind_after_hours``).
CHANGE_REMINDER = "itsm.change_reminder"
#: ``[changes]`` keys and their defaults.
CHANGES_KEYS = ("notice_hours",)
DEFAULT_NOTICE_HOURS = 48.0

_WORD = re.compile(r"[a-z0-9]+")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The weekdays as customers writing in French name them ("d'ici jeudi ?").
_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
#: Words that ask about work on a service rather than how to use it.
_ABOUT_WORK = frozenset(
    {
        *("upgrade", "upgraded", "change", "maintenance", "work", "planned", "done", "finished", "finish"),
        *("complete", "completed", "down", "back", "outage", "update", "updated", "migration", "ready"),
    }
)
#: A how-to question ("how do I upgrade the CRM app?") is about using a service, not about work on it.
_HOW_TO = re.compile(r"^\W*how\s+(?:do|can|should|would)\s+(?:i|we|you)\b", re.IGNORECASE)
_STOP = frozenset(
    {
        *("the", "a", "an", "be", "is", "will", "by", "on", "of", "to", "it", "we", "our", "my", "when"),
        *("what", "are", "and", "for", "in", "at", "this", "that", "does", "do", "system", "service"),
    }
)


@attrs.frozen
class ChangeSettings:
    """The ``[changes]`` table: how long before its window an approved change is announced."""

    notice_hours: float = DEFAULT_NOTICE_HOURS


def changes_settings(extra: Mapping[str, Any], file: str) -> ChangeSettings:
    """The ``[changes]`` table of a config, checked (``ConfigError`` naming the key)."""
    from ..structuring import did_you_mean

    raw = extra.get("changes", {})
    if not isinstance(raw, Mapping):
        raise ConfigError([ConfigProblem(file, "changes", f"expected a table, got {raw!r}")])
    problems = [
        ConfigProblem(file, f"changes.{key}", "unknown key", did_you_mean(str(key), CHANGES_KEYS))
        for key in raw
        if key not in CHANGES_KEYS
    ]
    hours = raw.get("notice_hours", DEFAULT_NOTICE_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= 24 * 90:
        problems.append(
            ConfigProblem(file, "changes.notice_hours", f"expected a number of hours from 0 to 2160, got {hours!r}")
        )
    if problems:
        raise ConfigError(problems)
    return ChangeSettings(notice_hours=float(hours))


def when(at: datetime, tr: Translator | None = None) -> str:
    """A moment as customers read it: ``Thu 10 Dec 18:00 UTC``; in another language its own words (``jeu. 10 déc. 18:00 UTC``)."""
    if tr is None or tr.english:
        return at.strftime("%a %d %b %H:%M UTC").replace(" 0", " ", 1)
    from babel.dates import format_datetime

    return format_datetime(at, "EEE d MMM HH:mm", tzinfo=at.tzinfo, locale=tr.locale) + " UTC"


def window_words(change: PlannedChange, tr: Translator | None = None) -> str:
    """The window in words: ``Thu 10 Dec 18:00 UTC to Thu 10 Dec 22:00 UTC``."""
    tr = tr or translator()
    return tr(N_("{start} to {end}"), start=when(change.start, tr), end=when(change.end, tr))


def _weekday(day: date, tr: Translator) -> str:
    if tr.english:
        return day.strftime("%A")
    from babel.dates import format_date

    return format_date(day, "EEEE", locale=tr.locale)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _asked_day(text: str, today: date) -> date | None:
    """The date a question means by a weekday it names ("by Thursday"): the next such day from today."""
    for word in _WORD.findall(text.lower()):
        for days in (_DAYS, _DAYS_FR):
            if word in days:
                return today + timedelta(days=(days.index(word) - today.weekday()) % 7)
    return None


def change_sentence(change: PlannedChange, now: datetime, question: str = "", tr: Translator | None = None) -> str:
    """What a customer is told about a change, from its window and state; answers "by Thursday?" when asked.

    In ``tr``'s language (the customer's; English by default).
    """
    tr = tr or translator()
    title, window, end = change.title, window_words(change, tr), when(change.end, tr)
    day = _asked_day(question, now.date())
    by_day = ""
    if day is not None:
        name = _weekday(day, tr)
        if change.end.date() <= day:
            by_day = " " + tr(N_("So yes, it is planned to be done by {day}."), day=name)
        else:
            by_day = " " + tr(N_("So no, it is planned to finish after {day}."), day=name)
    if change.state == ChangeState.COMPLETED and change.ended_at is not None:
        return tr(N_("{title} is done: it finished on {at}."), title=title, at=when(change.ended_at, tr))
    if change.state == ChangeState.CANCELLED:
        return tr(
            N_("{title}, planned for {window}, has been called off, so nothing changes for now."),
            title=title,
            window=window,
        )
    if change.state == ChangeState.REJECTED:
        return tr(
            N_("{title} is not going ahead as planned ({window}): it was not approved."), title=title, window=window
        )
    if change.state == ChangeState.PROPOSED:
        said = N_("{title} is proposed for {window}, but it is not approved yet, so the date may still change.")
        return tr(said, title=title, window=window) + by_day
    if change.state == ChangeState.IN_PROGRESS:
        if now > change.end:
            return tr(
                N_(
                    "{title} is taking longer than planned: it was due to finish on {end}. "
                    "We are on it and will tell you when it is done."
                ),
                title=title,
                end=end,
            )
        return tr(N_("{title} is under way now and is planned to finish on {end}."), title=title, end=end) + by_day
    if now > change.end:  # approved, but nobody recorded its start or end
        return tr(
            N_("{title} was planned for {window}; we have not yet confirmed that it is done."),
            title=title,
            window=window,
        )
    return tr(N_("{title} is approved and planned for {window}."), title=title, window=window) + by_day


def _started(change: PlannedChange) -> str:
    """What subscribers read once the work has begun."""
    return f"{change.title} has started. It is planned to finish on {when(change.end)}."


class Changes:
    """Planned changes in the store: recorded, decided, started, completed or cancelled, and announced."""

    def __init__(
        self,
        ctx: Context,
        customers: Customers,
        catalog: Catalog,
        cmdb: Cmdb,
        approvals: Approvals,
        outages: Outages,
        outbox: Outbox,
    ):
        self.ctx = ctx
        self.customers = customers
        self.catalog = catalog
        self.cmdb = cmdb
        self.approvals = approvals
        self.outages = outages
        self.outbox = outbox
        self.settings = changes_settings(ctx.config.extra, str(ctx.config.path))
        #: The language a customer reads (the desk wires in their preferences'); English until then.
        self.translator_for: Callable[[str], Translator] = lambda customer: translator()

    # ------------------------------------------------------------------ reading

    def get(self, change_id: int) -> PlannedChange:
        with self.ctx.engine.connect() as conn:
            found = self._read(conn, [change_id])
        if not found:
            raise NotFound(f"no planned change {change_id}; see 'itsm change list'")
        return found[0]

    def listing(
        self,
        *,
        state: ChangeState | str | None = None,
        service: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 200,
    ) -> list[PlannedChange]:
        """Changes by window start; those whose window overlaps ``start``..``end`` when given."""
        q = select(CH.c.id).order_by(CH.c.window_start, CH.c.id)
        if state is not None:
            q = q.where(CH.c.state == str(ChangeState(state)))
        if start is not None:
            q = q.where(CH.c.window_end >= start)
        if end is not None:
            q = q.where(CH.c.window_start <= end)
        with self.ctx.engine.connect() as conn:
            ids = list(conn.execute(q).scalars())
            found = self._read(conn, ids)
        if service is not None:
            found = [c for c in found if service in c.services]
        return found[:limit]

    def calendar(self, start: datetime, days: int) -> list[PlannedChange]:
        """The changes whose window overlaps ``days`` days from ``start``, not rejected or cancelled."""
        if days < 1:
            raise InvalidInput(f"a calendar covers at least 1 day, got {days}")
        shown = self.listing(start=start, end=start + timedelta(days=days), limit=10_000)
        return [c for c in shown if c.state not in (ChangeState.REJECTED, ChangeState.CANCELLED)]

    def _read(self, conn: Connection, ids: Sequence[int]) -> list[PlannedChange]:
        if not ids:
            return []
        rows = {r.id: r for r in conn.execute(select(CH).where(CH.c.id.in_(ids)))}
        decisions: dict[int, list[ChangeDecision]] = {}
        for d in conn.execute(select(DEC).where(DEC.c.change_id.in_(ids)).order_by(DEC.c.id)):
            decisions.setdefault(d.change_id, []).append(
                ChangeDecision(
                    approver=d.approver, approved=d.approved, note=d.note, on_behalf_of=d.on_behalf_of, at=_utc(d.at)
                )
            )
        return [_change(rows[i], decisions.get(i, [])) for i in ids if i in rows]

    # ------------------------------------------------------------------ recording

    def create(
        self,
        title: str,
        *,
        start: datetime,
        end: datetime,
        approvers: Iterable[str],
        services: Iterable[str] = (),
        items: Iterable[str] = (),
        risk: ChangeRisk | str = ChangeRisk.LOW,
        customer_impact: bool = True,
        description: str = "",
        owner: str = "",
    ) -> PlannedChange:
        """Record a proposed change and ask each approver for their decision."""
        errors: dict[str, str] = {}
        if not title.strip():
            errors["title"] = "a change needs a title saying what is done"
        start, end = _utc(start), _utc(end)
        if end <= start:
            errors["end"] = f"the window ends at {when(end)}, which is not after its start at {when(start)}"
        try:
            risk = ChangeRisk(risk)
        except ValueError:
            errors["risk"] = f"expected one of {', '.join(r.value for r in ChangeRisk)}, got {risk!r}"
        people = list(dict.fromkeys(a.strip() for a in approvers if a.strip()))
        if not people:
            errors["approvers"] = "a change needs at least one approver"
        if errors:
            raise InvalidAnswers(errors)
        for person in people:
            self.customers.get(person)  # UnknownCustomer otherwise
        keys = list(dict.fromkeys(services))
        for key in keys:
            self.catalog.get(key)  # UnknownService with a close match
        cis = list(dict.fromkeys(items))
        for ci in cis:
            self.cmdb.item(ci)  # NotFound with a close match
            keys += [k for k in self.cmdb.impact(ci).services if k not in keys]
        if not keys:
            raise InvalidAnswers({"services": "name the services or configuration items the change touches"})
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            cid = int(
                conn.execute(
                    insert(CH).values(
                        title=title.strip(),
                        description=description,
                        services=keys,
                        items=cis,
                        window_start=start,
                        window_end=end,
                        risk=str(risk),
                        customer_impact=customer_impact,
                        approvers=people,
                        state=str(ChangeState.PROPOSED),
                        owner=owner,
                        announcements=[],
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            change = self._read(conn, [cid])[0]
            ids = [self._ask(conn, change, person, now) for person in people]
        self.outbox.wake([i for i in ids if i])
        return change

    def _ask(self, conn: Connection, change: PlannedChange, approver: str, now: datetime) -> int:
        """Queue an approver's request for their decision on a change."""
        names = ", ".join(self._service_name(k) for k in change.services)
        who = self.customers.display(change.owner) if change.owner else "The IT team"
        text = (
            f"{who} asks you to approve a planned change: {change.title}, from {window_words(change)} "
            f"(risk: {change.risk}). It affects {names}. Please approve or decline it on its page."
        )
        jid = self.outbox.notify(
            conn,
            None,
            purpose="approval",
            subject=f"Please approve: {change.title}",
            body=text,
            customer_id=approver,
            links=[self._page(change)],
            now=now,
            key=f"{self.ctx.key_prefix}:change:{change.id}:ask:{approver}",
        )
        hours = self.ctx.config.approvals.remind_after_hours
        if hours > 0:  # as for a request's approver: reminded once if they have not decided by then
            self.outbox.add(
                conn,
                job_row(
                    action=CHANGE_REMINDER,
                    key=f"{self.ctx.key_prefix}:change:{change.id}:reminder:{approver}",
                    now=now,
                    params={"change_id": change.id, "approver": approver},
                    run_after=now + timedelta(hours=hours),
                ),
            )
        return jid

    def _page(self, change: PlannedChange) -> Link:
        return Link(
            title="Open the change",
            url=f"{self.ctx.config.deployment.public_url.rstrip('/')}/desk/changes/{change.id}",
        )

    def run_reminder(self, job: Job) -> ActionResult:
        """The reminder job: remind an approver who has not decided, unless the change was decided meanwhile."""
        change = self.get(int(job.params["change_id"]))
        approver = str(job.params["approver"])
        if change.state != ChangeState.PROPOSED or approver not in change.waiting_for():
            return ActionResult(behind_scenes=f"no reminder: {approver} decided on change {change.id} meanwhile")
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            jid = self.outbox.notify(
                conn,
                None,
                purpose="approval_reminder",
                subject=f"Reminder: please approve {change.title}",
                body=(
                    f"Reminder: {change.title}, planned from {window_words(change)}, is still waiting for your "
                    f"decision, asked on {change.created_at:%d %b %Y}. Please approve or decline it on its page."
                ),
                customer_id=approver,
                links=[self._page(change)],
                now=now,
                key=f"{self.ctx.key_prefix}:change:{change.id}:reminder-message:{approver}",
            )
        self.outbox.wake([jid] if jid else [])
        return ActionResult(behind_scenes=f"{approver} reminded to decide on change {change.id}")

    # ------------------------------------------------------------------ deciding

    def decide(
        self, change_id: int, approver: str, approved: bool, note: str = "", *, on_behalf_of: str | None = None
    ) -> PlannedChange:
        """One approver's decision (or someone's on their behalf); all yes approves, one no rejects."""
        if not approved and not note.strip():
            raise InvalidAnswers({"reason": "please say why, so the change's owner knows what to fix"})
        by, for_ = self.approvals.decision_identities(approver, on_behalf_of)
        decided_for = (for_ or by).login
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            row = conn.execute(select(CH).where(CH.c.id == change_id).with_for_update()).first()
            if row is None:
                raise NotFound(f"no planned change {change_id}; see 'itsm change list'")
            change = self._read(conn, [change_id])[0]
            if change.state != ChangeState.PROPOSED:
                raise Conflict(
                    f"change {change_id} is {change.state}, not waiting for approval; "
                    f"it may become: {', '.join(change.allowed_next()) or 'nothing (it is finished)'}",
                    state=str(change.state),
                    allowed=change.allowed_next(),
                )
            if decided_for not in change.approvers:
                raise Forbidden(
                    f"{decided_for} is not an approver of change {change_id}; its approvers are "
                    f"{', '.join(change.approvers)}"
                )
            earlier = next((d for d in change.decisions if (d.on_behalf_of or d.approver) == decided_for), None)
            if earlier is not None:
                raise Conflict(
                    f"{decided_for} already {'approved' if earlier.approved else 'declined'} change {change_id} "
                    f"on {when(earlier.at)}; a decision is recorded once",
                    state=str(change.state),
                    allowed=change.allowed_next(),
                )
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(DEC).values(
                            change_id=change_id,
                            approver=by.login,
                            on_behalf_of=for_.login if for_ else None,
                            decided_for=decided_for,
                            approved=approved,
                            note=note.strip(),
                            at=now,
                        )
                    )
            except IntegrityError:
                raise Conflict(
                    f"{decided_for} already decided on change {change_id}", state=str(change.state)
                ) from None
            yes = conn.execute(
                select(func.count()).select_from(DEC).where(DEC.c.change_id == change_id, DEC.c.approved.is_(True))
            ).scalar_one()
            target = None
            if not approved:
                target = ChangeState.REJECTED
            elif yes >= len(change.approvers):
                target = ChangeState.APPROVED
            ids: list[int] = []
            if target is not None:
                conn.execute(update(CH).where(CH.c.id == change_id).values(state=str(target), updated_at=now))
                if target == ChangeState.APPROVED and change.customer_impact:
                    ids.append(self._queue_notice(conn, change, now))
            else:
                conn.execute(update(CH).where(CH.c.id == change_id).values(updated_at=now))
        self.outbox.wake([i for i in ids if i])
        return self.get(change_id)

    def _queue_notice(self, conn: Connection, change: PlannedChange, now: datetime) -> int:
        due = max(now, change.start - timedelta(hours=self.settings.notice_hours))
        return self.outbox.add(
            conn,
            job_row(
                action=CHANGE_NOTICE,
                key=f"{self.ctx.key_prefix}:change:{change.id}:notice",
                now=now,
                params={"change_id": change.id},
                run_after=due,
            ),
        )

    # ------------------------------------------------------------------ the work

    def start(self, change_id: int) -> PlannedChange:
        """The work begins: subscribers are told (announced now if the notice was not sent yet)."""
        change = self._move(change_id, ChangeState.IN_PROGRESS, started_at=self.ctx.clock())
        if change.customer_impact and not self._announce(change):
            for aid in change.announcements:
                self.outages.update(
                    aid,
                    description=_started(change),
                    estimate=f"by {when(change.end)}",
                )
        return self.get(change_id)

    def complete(self, change_id: int, note: str = "") -> PlannedChange:
        """The work is done: the announcements are resolved, so subscribers hear it is over."""
        change = self._move(change_id, ChangeState.COMPLETED, ended_at=self.ctx.clock())
        self._resolve(change, f"{change.title} is finished." + (f" {note.strip()}" if note.strip() else ""))
        return self.get(change_id)

    def cancel(self, change_id: int, reason: str = "") -> PlannedChange:
        """Call the change off; subscribers told of it already hear that nothing changes."""
        change = self._move(change_id, ChangeState.CANCELLED)
        words = f"{change.title} has been called off, so nothing changes for you."
        self._resolve(change, words + (f" {reason.strip()}" if reason.strip() else ""))
        return self.get(change_id)

    def _move(self, change_id: int, target: ChangeState, **values: Any) -> PlannedChange:
        change = self.get(change_id)
        if target not in CHANGE_TRANSITIONS[change.state]:
            raise _refused(change, target)
        with self.ctx.engine.begin() as conn:
            done = conn.execute(
                update(CH)
                .where(CH.c.id == change_id, CH.c.state == str(change.state))
                .values(state=str(target), updated_at=self.ctx.clock(), **values)
            )
        if done.rowcount != 1:  # moved by someone else meanwhile
            raise _refused(self.get(change_id), target)
        return self.get(change_id)

    def _resolve(self, change: PlannedChange, resolution: str) -> None:
        for aid in change.announcements:
            with suppress(Conflict):  # resolved by an agent already: the subscribers heard the end then
                self.outages.resolve(aid, resolution)

    def _announce(self, change: PlannedChange) -> bool:
        """Open the change's announcements unless they were opened already; whether this call opened them."""
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            claimed = conn.execute(
                update(CH).where(CH.c.id == change.id, CH.c.noticed_at.is_(None)).values(noticed_at=now)
            ).rowcount
        if claimed != 1:
            return False
        started = change.state == ChangeState.IN_PROGRESS
        lead = _started(change) if started else f"{change.title} is planned from {window_words(change)}."
        opened = [
            self.outages.open(
                key,
                f"Planned work: {change.title}",
                description=lead + (f" {change.description}" if change.description else ""),
                # a notice says its window; "we expect it fixed by" is for work under way
                estimate=f"by {when(change.end)}" if started else "",
                source="change",
            ).id
            for key in change.services
        ]
        with self.ctx.engine.begin() as conn:
            conn.execute(update(CH).where(CH.c.id == change.id).values(announcements=opened))
        return True

    def run_notice(self, job: Job) -> ActionResult:
        """The notice job: announce the change to its subscribers unless it was called off or announced."""
        change = self.get(int(job.params["change_id"]))
        if change.state not in (ChangeState.APPROVED, ChangeState.IN_PROGRESS):
            return ActionResult(behind_scenes=f"change {change.id} is {change.state}: no notice sent")
        if not self._announce(change):
            return ActionResult(behind_scenes=f"change {change.id} was announced already")
        return ActionResult(behind_scenes=f"change {change.id} announced to the subscribers of its services")

    # ------------------------------------------------------------------ customers' questions

    def about(self, question: str) -> PlannedChange | None:
        """The change a customer's question is about: its title, or a service it touches with words about work."""
        words = _words(question)
        if not words:
            return None
        how_to = _HOW_TO.search(question) is not None
        now = self.ctx.clock()
        best: tuple[int, PlannedChange] | None = None
        for change in self.listing(start=now - timedelta(days=14), limit=10_000):
            title = _words(change.title)
            names: set[str] = set()
            for key in change.services:
                svc = self.catalog.find(key)
                names |= {key} | (_words(svc.name) | _words(" ".join(svc.keywords)) if svc else set())
            score = len(words & title)
            if words & names and words & _ABOUT_WORK and not how_to:
                score += 1
            if score >= 2 and (best is None or score > best[0]):
                best = (score, change)
        return best[1] if best else None

    def answer(self, question: str, tr: Translator | None = None) -> tuple[PlannedChange, str] | None:
        """The change a question is about and the truthful sentence that answers it (in ``tr``'s language), if any."""
        change = self.about(question)
        if change is None:
            return None
        return change, change_sentence(change, self.ctx.clock(), question, tr)

    def _service_name(self, key: str) -> str:
        svc = self.catalog.find(key)
        return svc.name if svc else key


def _refused(change: PlannedChange, target: ChangeState) -> Conflict:
    allowed = change.allowed_next()
    return Conflict(
        f"change {change.id} is {change.state} and cannot become {target}; "
        f"allowed: {', '.join(allowed) if allowed else 'nothing (it is finished)'}",
        state=str(change.state),
        allowed=allowed,
    )


def _utc(at: datetime) -> datetime:
    from datetime import UTC

    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _change(row: Any, decisions: list[ChangeDecision]) -> PlannedChange:
    return PlannedChange(
        id=row.id,
        title=row.title,
        description=row.description,
        services=tuple(row.services or ()),
        items=tuple(row.items or ()),
        start=_utc(row.window_start),
        end=_utc(row.window_end),
        risk=row.risk,
        customer_impact=bool(row.customer_impact),
        approvers=tuple(row.approvers or ()),
        decisions=tuple(decisions),
        state=row.state,
        owner=row.owner,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        started_at=_utc(row.started_at) if row.started_at else None,
        ended_at=_utc(row.ended_at) if row.ended_at else None,
        announcements=tuple(row.announcements or ()),
    )


class ChangesDesk:
    """The desk's planned-change calls, part of the :class:`~itsmcore.desk.Desk` facade."""

    _changes: Changes

    def new_change(
        self,
        title: str,
        *,
        start: datetime,
        end: datetime,
        approvers: Iterable[str],
        services: Iterable[str] = (),
        items: Iterable[str] = (),
        risk: ChangeRisk | str = ChangeRisk.LOW,
        customer_impact: bool = True,
        description: str = "",
        owner: str = "",
    ) -> PlannedChange:
        """Record a proposed change on services and/or configuration items; its approvers are asked."""
        return self._changes.create(
            title,
            start=start,
            end=end,
            approvers=approvers,
            services=services,
            items=items,
            risk=risk,
            customer_impact=customer_impact,
            description=description,
            owner=owner,
        )

    def get_change(self, change_id: int) -> PlannedChange:
        """A planned change; NotFound otherwise."""
        return self._changes.get(change_id)

    def list_changes(
        self, *, state: ChangeState | str | None = None, service: str | None = None, limit: int = 200
    ) -> list[PlannedChange]:
        """Planned changes by window start, of one state or service when given."""
        return self._changes.listing(state=state, service=service, limit=limit)

    def change_calendar(self, start: datetime, days: int = 14) -> list[PlannedChange]:
        """The changes planned or under way in ``days`` days from ``start`` (not rejected or cancelled)."""
        return self._changes.calendar(_utc(start), days)

    def approve_change(
        self, change_id: int, approver: str, note: str = "", *, on_behalf_of: str | None = None
    ) -> PlannedChange:
        """An approver's yes; the change is approved when every approver said yes (409 when decided already)."""
        return self._changes.decide(change_id, approver, True, note, on_behalf_of=on_behalf_of)

    def reject_change(
        self, change_id: int, approver: str, reason: str, *, on_behalf_of: str | None = None
    ) -> PlannedChange:
        """An approver's no, with a reason: the change is rejected."""
        return self._changes.decide(change_id, approver, False, reason, on_behalf_of=on_behalf_of)

    def start_change(self, change_id: int) -> PlannedChange:
        """The approved change's work begins; its subscribers are told."""
        return self._changes.start(change_id)

    def complete_change(self, change_id: int, note: str = "") -> PlannedChange:
        """The change's work is done; its subscribers are told."""
        return self._changes.complete(change_id, note)

    def cancel_change(self, change_id: int, reason: str = "") -> PlannedChange:
        """Call off a proposed or approved change; subscribers told of it hear so."""
        return self._changes.cancel(change_id, reason)

    def change_notice_due(self, change: PlannedChange) -> datetime:
        """When an approved change with customer impact is announced: ``[changes] notice_hours`` before its window."""
        return change.start - timedelta(hours=self._changes.settings.notice_hours)

    def change_answer(self, question: str, customer: str | None = None) -> tuple[PlannedChange, str] | None:
        """The planned change a customer's question is about, and the sentence that answers it (in
        ``customer``'s language when given, else English)."""
        tr = self._changes.translator_for(customer) if customer is not None else None
        return self._changes.answer(question, tr)
