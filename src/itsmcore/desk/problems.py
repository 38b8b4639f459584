"""Problems and known errors: the cause behind repeated incidents, its workaround, its fix.

A problem is about services and configuration items (a problem opened on an item reaches
the services the CMDB's impact walk finds). Incidents are linked to it one by one, each
link a journey event on the incident, written by the journey writer like any other. A
known error publishes its workaround as a knowledge article and can be announced to the
subscribers of its services. Resolving a problem resolves its announcements through the
announcement path (:meth:`Outages.resolve`): the linked incidents are resolved, their
customers told and asked to confirm with a signed link, and followed up when they do not
answer. Linked incidents not under one of the problem's announcements are put under one
first, written for their customers only (no subscriber hears of it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InvalidAnswers, InvalidInput, NotFound
from ..i18n import N_, Translator, later, translator
from ..model import (
    PROBLEM_MOVES,
    Actor,
    Announcement,
    Article,
    ArticleState,
    DemandKind,
    Link,
    Problem,
    ProblemIncident,
    ProblemState,
)
from ..store import tables as t
from .announcements import Book
from .cmdb import Cmdb
from .context import Context
from .demands import Demands
from .journey import Journey, acting
from .knowledge import Knowledge
from .outages import Outages
from .outbox import Outbox

P = t.problems
PL = t.problem_links
MAX_TITLE = 300
#: States of an incident its problem's resolution resolves (and asks its customer to confirm).
_OPEN_INCIDENT = ("new", "in_progress")
#: The title of a known error's article link; delivery puts it in each customer's language.
MEANWHILE = N_("What you can do meanwhile")
#: What each customer of a known error's open incident is told, on its journey and in a message.
KNOWN_ERROR_SAYS = N_("We know what causes this. Meanwhile: {workaround}")


def _who(actor: str) -> str:
    """Who acts, for the record: the person acting (the CLI's agent, the portal's), else ``actor``."""
    person = acting()
    return person.login if person is not None and actor == Actor.AGENT else actor


def article_key(problem_id: int) -> str:
    """The key of the knowledge article a known error's workaround is published as."""
    return f"known-error-{problem_id}"


class Problems:
    """Problem records, their links, known errors and their resolution."""

    def __init__(
        self,
        ctx: Context,
        demands: Demands,
        book: Book,
        journey: Journey,
        outbox: Outbox,
        outages: Outages,
        knowledge: Knowledge,
        cmdb: Cmdb,
    ):
        self.ctx = ctx
        self.demands = demands
        self.book = book
        self.journey = journey
        self.outbox = outbox
        self.outages = outages
        self.knowledge = knowledge
        self.cmdb = cmdb
        #: The customer's language, for what they read of a known error: the desk plugs its preferences in here.
        self.translator_for: Callable[[str], Translator] = lambda customer_id: translator()

    # ------------------------------------------------------------------ reading

    def get(self, problem_id: int) -> Problem:
        with self.ctx.engine.connect() as conn:
            return self._get(conn, problem_id)

    def _get(self, conn: Connection, problem_id: int) -> Problem:
        r = conn.execute(select(P).where(P.c.id == problem_id)).first()
        if r is None:
            open_ids = list(
                conn.execute(
                    select(P.c.id).where(P.c.state != str(ProblemState.RESOLVED)).order_by(P.c.id.desc()).limit(5)
                ).scalars()
            )
            hint = (
                f"open problems: {', '.join(f'#{i}' for i in open_ids)}"
                if open_ids
                else "there is no open problem ('itsm problem list --all' lists every one)"
            )
            raise NotFound(f"unknown problem {problem_id}; {hint}")
        links = conn.execute(
            select(PL, t.demands.c.service_key)
            .select_from(PL.outerjoin(t.demands, t.demands.c.id == PL.c.demand_id))
            .where(PL.c.problem_id == problem_id)
            .order_by(PL.c.id)
        ).all()
        return _problem(r, links)

    def listing(self, *, state: ProblemState | str | None = None, service: str | None = None) -> list[Problem]:
        """Newest first; ``state`` one state, else every problem."""
        q = select(P.c.id).order_by(P.c.id.desc())
        if state is not None:
            q = q.where(P.c.state == str(ProblemState(state)))
        with self.ctx.engine.connect() as conn:
            found = [self._get(conn, pid) for pid in conn.execute(q).scalars()]
        return [p for p in found if service is None or service in p.services]

    def of_demand(self, demand_id: int) -> list[Problem]:
        """The problems an incident is linked to."""
        with self.ctx.engine.connect() as conn:
            ids = list(conn.execute(select(PL.c.problem_id).where(PL.c.demand_id == demand_id)).scalars())
            return [self._get(conn, pid) for pid in ids]

    # ------------------------------------------------------------------ writing

    def open(
        self,
        title: str,
        *,
        services: Sequence[str] = (),
        cis: Sequence[str] = (),
        description: str = "",
        incidents: Iterable[int] = (),
        actor: str = Actor.AGENT,
    ) -> Problem:
        """A new problem about services and configuration items (an item reaches the services its outage affects)."""
        title = (title or "").strip()
        errors: dict[str, str] = {}
        if not title:
            errors["title"] = "a problem needs a title saying what keeps going wrong"
        elif len(title) > MAX_TITLE:
            errors["title"] = f"the title is {len(title):,} characters; at most {MAX_TITLE} are allowed"
        keys: list[str] = []
        for s in services:
            if s not in self.ctx.services:
                from ..structuring import did_you_mean

                errors["services"] = f"unknown service {s!r}; {did_you_mean(s, self.ctx.services)}".rstrip("; ")
            elif s not in keys:
                keys.append(s)
        for ci in cis:
            try:
                reached = self.cmdb.impact(ci).services
            except NotFound as e:
                errors["cis"] = str(e)
                continue
            keys += [s for s in reached if s not in keys]
        if not errors and not keys:
            errors["services"] = (
                "name a service (--service) or a configuration item whose outage affects one (--ci)"
                if not cis
                else f"no service is affected by {', '.join(cis)}: name the service too (--service)"
            )
        if errors:
            raise InvalidAnswers(errors)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            pid = conn.execute(
                insert(P).values(
                    title=title,
                    description=description,
                    services=keys,
                    cis=list(dict.fromkeys(cis)),
                    root_cause="",
                    workaround="",
                    state=str(ProblemState.NEW),
                    article_key=None,
                    resolution="",
                    opened_by=_who(actor),
                    opened_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        for demand_id in incidents:
            self.link(pid, demand_id, actor=actor)
        return self.get(pid)

    def link(self, problem_id: int, demand_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Link an incident; one of a service the problem is not about is linked too, and recorded as such."""
        problem = self.get(problem_id)
        if problem.state == ProblemState.RESOLVED:
            raise Conflict(
                f"problem {problem_id} is resolved; link the incident to an open problem, or open a new one",
                state=str(problem.state),
            )
        demand = self.demands.get(demand_id)
        if demand.kind != DemandKind.FAILURE:
            what = "a request" if demand.kind == DemandKind.VALUE else "a question"
            raise InvalidInput(
                f"#{demand_id} is {what}, not an incident: only incidents (something broken) can be linked to a problem"
            )
        if any(i.demand_id == demand_id for i in problem.incidents):
            return problem
        other = demand.service_key not in problem.services
        now = self.ctx.clock()
        note = f"linked to problem #{problem_id}: {problem.title}"
        if other:
            note += f" (an incident of {demand.service_key or 'no service'}; the problem is about {', '.join(problem.services)})"
        try:
            with self.journey.begin() as change:
                change.conn.execute(
                    insert(PL).values(
                        problem_id=problem_id,
                        demand_id=demand_id,
                        announcement_id=None,
                        other_service=other,
                        linked_by=_who(actor),
                        linked_at=now,
                    )
                )
                change.conn.execute(update(P).where(P.c.id == problem_id).values(updated_at=now))
                change.record(demand, actor=Actor.AGENT, kind="problem", behind_scenes=note, at=now)
        except IntegrityError:  # linked by someone else meanwhile
            pass
        return self.get(problem_id)

    def unlink(self, problem_id: int, demand_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Take an incident off a problem (NotFound when it is not linked)."""
        problem = self.get(problem_id)
        if not any(i.demand_id == demand_id for i in problem.incidents):
            linked = ", ".join(f"#{i.demand_id}" for i in problem.incidents) or "none"
            raise NotFound(f"#{demand_id} is not linked to problem {problem_id} (its incidents: {linked})")
        now = self.ctx.clock()
        with self.journey.begin() as change:
            change.conn.execute(delete(PL).where(PL.c.problem_id == problem_id, PL.c.demand_id == demand_id))
            change.conn.execute(update(P).where(P.c.id == problem_id).values(updated_at=now))
            change.record(
                demand_id,
                actor=Actor.AGENT,
                kind="problem",
                behind_scenes=f"no longer linked to problem #{problem_id}: {problem.title} (by {actor})",
                at=now,
            )
        return self.get(problem_id)

    def link_announcement(self, problem_id: int, announcement_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Link an announcement: resolving the problem resolves it too."""
        problem = self.get(problem_id)
        self.book.get(announcement_id)  # NotFound otherwise
        if announcement_id not in problem.announcements:
            with self.ctx.engine.begin() as conn:
                self._link_announcement(conn, problem_id, announcement_id, actor)
        return self.get(problem_id)

    def _link_announcement(self, conn: Connection, problem_id: int, announcement_id: int, actor: str) -> None:
        now = self.ctx.clock()
        conn.execute(
            insert(PL).values(
                problem_id=problem_id,
                demand_id=None,
                announcement_id=announcement_id,
                other_service=False,
                linked_by=_who(actor),
                linked_at=now,
            )
        )
        conn.execute(update(P).where(P.c.id == problem_id).values(updated_at=now))

    # ------------------------------------------------------------------ lifecycle

    def _check_move(self, problem: Problem, target: ProblemState) -> None:
        """Conflict naming the allowed states unless the lifecycle lets ``problem`` move to ``target``."""
        if target not in PROBLEM_MOVES[problem.state]:
            allowed = sorted(str(s) for s in PROBLEM_MOVES[problem.state])
            where = f"it can only go to {', '.join(allowed)}" if allowed else "it stays there"
            raise Conflict(
                f"problem {problem.id} is {problem.state}; from there {where}",
                state=str(problem.state),
                allowed=allowed,
            )

    def _move(self, conn: Connection, problem: Problem, target: ProblemState, **values: Any) -> None:
        self._check_move(problem, target)
        done = conn.execute(
            update(P)
            .where(P.c.id == problem.id, P.c.state == str(problem.state))
            .values(state=str(target), updated_at=self.ctx.clock(), **values)
        )
        if done.rowcount != 1:
            raise Conflict(f"problem {problem.id} changed meanwhile; nothing was saved, try again")

    def investigate(self, problem_id: int, *, root_cause: str | None = None) -> Problem:
        """Start (or go back to) investigating the cause."""
        problem = self.get(problem_id)
        values = {"root_cause": root_cause} if root_cause is not None else {}
        with self.ctx.engine.begin() as conn:
            self._move(conn, problem, ProblemState.INVESTIGATING, **values)
        return self.get(problem_id)

    def known_error(self, problem_id: int, *, root_cause: str, workaround: str, actor: str = Actor.AGENT) -> Problem:
        """The cause is known: record it and publish the workaround as a knowledge article (``known-error-ID``)."""
        problem = self.get(problem_id)
        errors = {}
        if not (root_cause or "").strip():
            errors["root_cause"] = "say what causes it: a known error is a problem whose cause is known"
        if not (workaround or "").strip():
            errors["workaround"] = "say what customers can do meanwhile: it is published as a knowledge article"
        if errors:
            raise InvalidAnswers(errors)
        key = article_key(problem_id)
        self._check_move(problem, ProblemState.KNOWN_ERROR)  # refused before anything is published
        self._publish(problem, key, workaround.strip(), _who(actor))
        with self.ctx.engine.begin() as conn:
            self._move(
                conn,
                problem,
                ProblemState.KNOWN_ERROR,
                root_cause=root_cause.strip(),
                workaround=workaround.strip(),
                article_key=key,
            )
        known = self.get(problem_id)
        self._tell_workaround(known, actor)
        return known

    def _tell_workaround(self, problem: Problem, actor: str) -> None:
        """Each open incident of a known error: its customer hears the workaround (and its article).

        Once per version of the workaround's article: a workaround recorded again (after
        investigating further) is news to them; a retry of the same one is not.

        What they can do meanwhile is the first thing a customer with a known error wants;
        the journey keeps it where they read their demand, and a message brings it to them.
        """
        if not problem.incidents:
            return
        base = self.ctx.config.deployment.public_url.rstrip("/")
        url = f"{base}/knowledge/{problem.article_key}"
        now = self.ctx.clock()
        version = self.knowledge.get(problem.article_key).version if problem.article_key else 0
        jobs: list[int] = []
        with self.journey.begin() as change:
            for did in sorted(i.demand_id for i in problem.incidents):
                demand = change.demand(did)
                if demand.kind != DemandKind.FAILURE or str(demand.state) not in _OPEN_INCIDENT:
                    continue  # done with, or not an incident: nothing to tell
                tr = self.translator_for(demand.customer_id)
                says = tr(KNOWN_ERROR_SAYS, workaround=problem.workaround)
                change.record(
                    demand,
                    actor=actor,
                    customer_sees=says,
                    behind_scenes=f"problem {problem.id} is a known error; its workaround told to the customer",
                    kind="problem",
                    at=now,
                )
                jobs.append(
                    self.outbox.notify(
                        change.conn,
                        did,
                        purpose="progress",
                        subject=f"#{did}: {problem.title}",
                        body=says,
                        links=(Link(title=MEANWHILE, url=url),),  # its title put in their words as it goes
                        now=now,
                        key=f"{self.ctx.key_prefix}:problem:{problem.id}:known-error:{did}:{version}",
                        say={
                            "subject": later("#{id}: {title}", id=did, title=problem.title),
                            "text": later(KNOWN_ERROR_SAYS, workaround=problem.workaround),
                        },
                    )
                )
        self.outbox.wake([j for j in jobs if j])

    def _publish(self, problem: Problem, key: str, workaround: str, actor: str) -> None:
        title = f"Known problem: {problem.title}"[:MAX_TITLE]
        body = (f"{problem.description.strip()}\n\n" if problem.description.strip() else "") + (
            f"## What you can do meanwhile\n\n{workaround}\n"
        )
        try:
            current: Article | None = self.knowledge.get(key)
        except NotFound:
            current = None
        note = f"workaround of known error #{problem.id}"
        if current is None:
            current = self.knowledge.create(
                key, title, body, services=problem.services, keywords=("known-error",), actor=actor, note=note
            )
        elif (current.title, current.body) != (title, body):
            current = self.knowledge.edit(key, base_version=current.version, actor=actor, note=note, body=body)
        if current.state != ArticleState.PUBLISHED:
            self.knowledge.publish(key, actor=actor, note=note)

    def announce(self, problem_id: int, *, estimate: str = "", actor: str = Actor.AGENT) -> list[Announcement]:
        """Announce a known error to its services' subscribers: what is wrong, the workaround and its article."""
        problem = self.get(problem_id)
        if problem.state != ProblemState.KNOWN_ERROR:
            raise Conflict(
                f"problem {problem_id} is {problem.state}; only a known error (its workaround known) is announced",
                state=str(problem.state),
                allowed=sorted(str(s) for s in problem.allowed),
            )
        links: tuple[Link, ...] = ()
        if problem.article_key:
            base = self.ctx.config.deployment.public_url.rstrip("/")
            links = (Link(title=MEANWHILE, url=f"{base}/knowledge/{problem.article_key}"),)
        made = [
            self.outages.open(
                key,
                problem.title,
                description=problem.description,
                workaround=problem.workaround,
                links=links,
                estimate=estimate,
                source=f"problem:{problem_id}",
            )
            for key in problem.services
        ]
        with self.ctx.engine.begin() as conn:
            for ann in made:
                self._link_announcement(conn, problem_id, ann.id, actor)
        return made

    def resolve(self, problem_id: int, resolution: str, *, actor: str = Actor.AGENT) -> Problem:
        """Fixed: the linked incidents are resolved and their customers asked to confirm, as an announcement's are."""
        resolution = (resolution or "").strip()
        if not resolution:
            raise InvalidAnswers({"resolution": "say what was fixed: the customers of its incidents read it"})
        problem = self.get(problem_id)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            self._move(conn, problem, ProblemState.RESOLVED, resolution=resolution, resolved_at=now)
            linked = set(problem.announcements)
            open_anns = set(
                conn.execute(
                    select(t.announcements.c.id).where(
                        t.announcements.c.id.in_(linked), t.announcements.c.state == "open"
                    )
                ).scalars()
            )
            # incidents not under one of the problem's open announcements: put under one, for their customers only
            strays = conn.execute(
                select(t.demands.c.id, t.demands.c.customer_id, t.demands.c.service_key)
                .where(
                    t.demands.c.id.in_([i.demand_id for i in problem.incidents]),
                    t.demands.c.kind == str(DemandKind.FAILURE),
                    t.demands.c.state.in_(_OPEN_INCIDENT),
                    t.demands.c.announcement_id.is_(None) | t.demands.c.announcement_id.not_in(open_anns),
                )
                .order_by(t.demands.c.id)
            ).all()
            by_service: dict[str, list[Any]] = {}
            for r in strays:
                key = r.service_key if r.service_key in self.ctx.services else problem.services[0]
                by_service.setdefault(key, []).append(r)
            made: list[int] = []
            for key, found in by_service.items():
                aid = self.outages.insert(
                    conn,
                    key,
                    problem.title,
                    description=problem.description,
                    workaround=problem.workaround,
                    source=f"problem:{problem_id}",
                    now=now,
                )
                made.append(aid)
                self._link_announcement(conn, problem_id, aid, actor)
                for r in found:
                    conn.execute(update(t.demands).where(t.demands.c.id == r.id).values(announcement_id=aid))
                    self.book.mark_affected(conn, aid, r.customer_id, now)
                open_anns.add(aid)
        for aid in made:  # opened for their customers only: no fan-out, but the plugins hear of it
            self.outages.published(aid, "opened")
        for aid in sorted(open_anns):
            with suppress(Conflict):  # resolved by someone else meanwhile: its customers were told then
                self.outages.resolve(aid, resolution)
        return self.get(problem_id)


def _problem(r: Any, links: Sequence[Any]) -> Problem:
    return Problem(
        id=r.id,
        title=r.title,
        description=r.description,
        services=tuple(r.services or ()),
        cis=tuple(r.cis or ()),
        root_cause=r.root_cause,
        workaround=r.workaround,
        state=ProblemState(r.state),
        article_key=r.article_key,
        resolution=r.resolution,
        opened_by=r.opened_by,
        opened_at=_utc(r.opened_at),
        updated_at=_utc(r.updated_at),
        resolved_at=_utc(r.resolved_at) if r.resolved_at is not None else None,
        incidents=tuple(
            ProblemIncident(
                demand_id=x.demand_id,
                service_key=x.service_key,
                other_service=bool(x.other_service),
                linked_by=x.linked_by,
                linked_at=_utc(x.linked_at),
            )
            for x in links
            if x.demand_id is not None
        ),
        announcements=tuple(x.announcement_id for x in links if x.announcement_id is not None),
    )


def _utc(value: Any) -> Any:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class ProblemDesk:
    """The desk's problem calls, part of the :class:`~itsmcore.desk.Desk` facade."""

    _problems: Problems

    def open_problem(
        self,
        title: str,
        *,
        services: Sequence[str] = (),
        cis: Sequence[str] = (),
        description: str = "",
        incidents: Iterable[int] = (),
        actor: str = Actor.AGENT,
    ) -> Problem:
        """Open a problem on services and/or configuration items (each reaching the services it affects)."""
        return self._problems.open(
            title, services=services, cis=cis, description=description, incidents=incidents, actor=actor
        )

    def problem(self, problem_id: int) -> Problem:
        """A problem with its incidents and announcements; NotFound naming the open ones otherwise."""
        return self._problems.get(problem_id)

    def problems(self, *, state: ProblemState | str | None = None, service: str | None = None) -> list[Problem]:
        """Problems, newest first: all, or of one state, or about one service."""
        return self._problems.listing(state=state, service=service)

    def problems_of_demand(self, demand_id: int) -> list[Problem]:
        """The problems an incident is linked to."""
        return self._problems.of_demand(demand_id)

    def link_problem_incident(self, problem_id: int, demand_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Link an incident to a problem (a request or a question is refused); a journey event on the incident."""
        return self._problems.link(problem_id, demand_id, actor=actor)

    def unlink_problem_incident(self, problem_id: int, demand_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Take an incident off a problem; a journey event on the incident."""
        return self._problems.unlink(problem_id, demand_id, actor=actor)

    def link_problem_announcement(self, problem_id: int, announcement_id: int, *, actor: str = Actor.AGENT) -> Problem:
        """Link an announcement to a problem: resolving the problem resolves it."""
        return self._problems.link_announcement(problem_id, announcement_id, actor=actor)

    def investigate_problem(self, problem_id: int, *, root_cause: str | None = None) -> Problem:
        """Move a problem to investigating (Conflict with the allowed states otherwise)."""
        return self._problems.investigate(problem_id, root_cause=root_cause)

    def known_error(self, problem_id: int, *, root_cause: str, workaround: str, actor: str = Actor.AGENT) -> Problem:
        """Record the cause and the workaround; the workaround is published as a knowledge article."""
        return self._problems.known_error(problem_id, root_cause=root_cause, workaround=workaround, actor=actor)

    def announce_problem(self, problem_id: int, *, estimate: str = "", actor: str = Actor.AGENT) -> list[Announcement]:
        """Announce a known error on each of its services, with its workaround and article."""
        return self._problems.announce(problem_id, estimate=estimate, actor=actor)

    def resolve_problem(self, problem_id: int, resolution: str, *, actor: str = Actor.AGENT) -> Problem:
        """Resolve a problem: its incidents' customers are told and asked to confirm, as an announcement's are."""
        return self._problems.resolve(problem_id, resolution, actor=actor)
