"""The journey writer: the only code that writes journey events and a demand's state and stage.

Every change to a demand goes through a :class:`Change`, inside the caller's
transaction. A state change is checked against the demand kind's lifecycle and written
only if the demand is still in the state the change started from (another process that
moved it meanwhile makes this one a :class:`~itsmcore.errors.Conflict`, not a lost
update). After the transaction commits, the change calls, in the order things happened,
``itsm_demand_received`` once per new demand, ``itsm_demand_state_changed`` once per
state change, ``itsm_event_recorded`` once per journey row, and ``itsm_stage_entered``
once per event that moved the demand into another stage. Nothing is called when the
transaction rolls back.

Each event records who acted: the role (``actor``) and, for an agent's or an integration's
event, the person (:class:`~itsmcore.model.Identity`): given to :meth:`Change.record`, else
the one :func:`acting_as` set for the thread or task (the CLI's agent, the portal's signed-in
agent, the API token).

This is the contract vendors build on (webhooks, SLA clocks, mirrors): a path that
wrote a demand without it would be a bug even when the customer never notices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, Integer, String, bindparam, func, literal, select, update

from ..errors import Conflict, NotFound
from ..logs import log_context
from ..model import Actor, Demand, DemandState, Identity, JourneyEvent, Priority, Stage, check_transition
from ..model.demand import IllegalTransition
from ..store import rows
from ..store import tables as t
from .context import KEEP, Context, Keep

#: States that end the work on a demand (the customer is told the outcome).
_OUTCOMES = frozenset({DemandState.FULFILLED, DemandState.RESOLVED, DemandState.ANSWERED, DemandState.REJECTED})

_INSERT_EVENT = t.journey_events.insert()
_INSERT_EVENTS_IDS = t.journey_events.insert().returning(t.journey_events.c.id, sort_by_parameter_order=True)
_SELECT_DEMAND = select(t.demands).where(t.demands.c.id == bindparam("b_id"))
# FOR NO KEY UPDATE on PostgreSQL: writers of a demand queue behind each other, but a transaction that
# inserted a row pointing at the demand (its foreign key takes KEY SHARE) may still lock it afterwards.
# FOR UPDATE would conflict with that KEY SHARE and two jobs of one demand could deadlock.
_SELECT_DEMAND_LOCKED = _SELECT_DEMAND.with_for_update(key_share=True)

_D = t.demands.c
# A note at the stage the demand is in when it is written: read and written in one statement.
_INSERT_NOTE = t.journey_events.insert().from_select(
    [
        *("demand_id", "stage", "channel", "actor", "actor_login", "actor_name", "kind"),
        *("customer_sees", "behind_scenes", "effort", "at"),
    ],
    select(
        _D.id,
        _D.stage,
        func.coalesce(bindparam("b_channel", type_=String), _D.channel),
        bindparam("b_actor", type_=String),
        bindparam("b_login", type_=String),
        bindparam("b_name", type_=String),
        bindparam("b_kind", type_=String),
        bindparam("b_sees", type_=String),
        bindparam("b_behind", type_=String),
        literal(0, Integer),
        bindparam("b_at", type_=t.TS),
    ).where(_D.id == bindparam("b_id")),
)
_INSERT_NOTE_RETURNING = _INSERT_NOTE.returning(t.journey_events.c.id, t.journey_events.c.stage)

_Item = tuple[str, Demand, Any]

#: The changes whose hooks are being called in this thread or task: a change made by a
#: hook implementation (a survey asked for when a demand closes) is reported after the
#: change that caused it, so every observer hears of events in the order they were written.
_FIRING: ContextVar[list[tuple[Change, list[_Item]]] | None] = ContextVar("itsm_journey_firing", default=None)

#: The person acting in this thread or task (see :func:`acting_as`).
_ACTING: ContextVar[Identity | None] = ContextVar("itsm_acting", default=None)


def acting() -> Identity | None:
    """The person :func:`acting_as` set for this thread or task, if any."""
    return _ACTING.get()


@contextmanager
def acting_as(who: Identity | None) -> Iterator[Identity | None]:
    """Record ``who`` on the events written inside the block whose actor is theirs.

    That is every event of the ``agent`` role, and every event whose actor is ``who.login``
    (an API token's name is both the actor and the login); the customer's, the system's and
    a plugin's own events stay theirs. The identity follows the context: a thread or task
    started inside the block (a thread pool given a copied context) keeps it.
    """
    token = _ACTING.set(who)
    try:
        yield who
    finally:
        _ACTING.reset(token)


def _by(actor: str) -> Identity | None:
    who = _ACTING.get()
    if who is not None and (actor == Actor.AGENT or actor == who.login):
        return who
    return None


class Change:
    """What one transaction does to demands; the hooks are called once it has committed.

    Get one from :meth:`Journey.begin` (which opens the transaction) or
    :meth:`Journey.join` (inside a transaction the caller holds, then call :meth:`fire`
    after it commits). ``conn`` is the transaction's connection, for the caller's own
    writes (jobs, outputs) in the same commit.
    """

    def __init__(self, journey: Journey, conn: Connection):
        self.conn = conn
        self._journey = journey
        self._ctx = journey.ctx
        self._now: dict[int, Demand] = {}  # each demand as this change has left it so far
        self._items: list[_Item] = []
        self._after: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ reading

    def demand(self, demand_id: int) -> Demand:
        """The demand as it is now, read in this transaction (locked against other writers on PostgreSQL)."""
        if demand_id in self._now:
            return self._now[demand_id]
        row = self.conn.execute(_SELECT_DEMAND_LOCKED, {"b_id": demand_id}).first()
        if row is None:
            raise NotFound(f"unknown demand {demand_id}")
        d = rows.demand(row)
        self._now[demand_id] = d
        return d

    def _current(self, demand: Demand | int) -> Demand:
        if isinstance(demand, int):
            return self.demand(demand)
        return self._now.setdefault(demand.id, demand)

    # ------------------------------------------------------------------ writing

    def received(self, demand: Demand, events: Sequence[Mapping[str, Any]]) -> list[JourneyEvent]:
        """A demand just inserted by the caller, with its first journey rows (one statement for all).

        The demand's first event enters its stage, as does each later one in another stage.
        Ids come back only when a hook will see them: ``RETURNING`` costs a pass per row.
        """
        self._now[demand.id] = demand
        self._items.append(("received", demand, None))
        if _ACTING.get() is not None:  # an agent recording a contact: their name on their events
            events = [{**values, **rows.identity_columns(_by(values["actor"]), None)} for values in events]
        if not self._journey.observed():
            self.conn.execute(_INSERT_EVENT, list(events))
            return []
        ids = self.conn.execute(_INSERT_EVENTS_IDS, list(events)).scalars().all()
        out = []
        previous: Stage | None = None
        for ev_id, values in zip(ids, events, strict=True):
            ev = rows.event(rows.RowView(values, id=ev_id))
            at = demand if ev.stage == demand.stage else attrs.evolve(demand, stage=ev.stage)
            self._items.append(("event", at, (ev, ev.stage != previous)))
            previous = ev.stage
            out.append(ev)
        return out

    def record(
        self,
        demand: Demand | int,
        *,
        stage: Stage | str | None = None,
        state: DemandState | str | None = None,
        waiting_for: str | Keep | None = KEEP,
        channel: str | None = None,
        actor: str = Actor.SYSTEM,
        customer_sees: str = "",
        behind_scenes: str = "",
        effort: int = 0,
        kind: str = "note",
        external_ref: str | None = None,
        at: datetime | None = None,
        priority: Priority | int | None = None,
        team: str | Keep | None = KEEP,
        assignee: str | Keep | None = KEEP,
        by: Identity | None = None,
        on_behalf_of: Identity | None = None,
    ) -> JourneyEvent:
        """Add one event to a demand's journey; with ``state`` the demand moves along its lifecycle too.

        ``stage`` moves the demand to that stage (``None``: the event happens where the
        demand is). ``state`` is checked against the lifecycle (:class:`IllegalTransition`)
        and written only if nobody changed the state since this change read it
        (:class:`~itsmcore.errors.Conflict` otherwise). ``waiting_for`` says what the demand
        now waits for (``None``: nothing). ``priority`` sets the demand's priority (an
        agent's change, its reason in the event); ``team`` and ``assignee`` who owns it and
        works on it (a reassignment, its reason in the event). A demand given as an id is read in the
        transaction; a :class:`Demand` object is taken as what the caller last read.
        ``by`` is the person who acted (default: the one :func:`acting_as` set, for an
        event of their role); ``on_behalf_of`` the person they acted for.
        """
        by = by if by is not None else _by(str(actor))
        before = self._current(demand)
        now = at or self._ctx.clock()
        st = Stage(stage) if stage else before.stage
        target = DemandState(state) if state is not None else None
        values: dict[str, Any] = {}
        if target is not None and target != before.state:
            check_transition(before.kind, before.state, target, before.id)
            values["state"] = str(target)
            if target in _OUTCOMES:
                values["resolved_at"] = now
        if st != before.stage:
            values["stage"] = str(st)
        if not isinstance(waiting_for, Keep) and waiting_for != before.waiting_for:
            values["waiting_for"] = waiting_for
        if priority is not None and int(priority) != int(before.priority):
            values["priority"] = int(priority)
        if not isinstance(team, Keep) and team != before.team:
            values["team"] = team
        if not isinstance(assignee, Keep) and assignee != before.assignee:
            values["assignee"] = assignee
        after = before
        if values:
            values["updated_at"] = now
            where = [t.demands.c.id == before.id]
            if "state" in values:  # optimistic: the state we checked is still the state
                where.append(t.demands.c.state == str(before.state))
            done = self.conn.execute(update(t.demands).where(*where).values(**values))
            if done.rowcount != 1:
                self._conflict(before, target)
            after = attrs.evolve(
                before,
                state=target if target is not None and "state" in values else before.state,
                stage=st,
                waiting_for=values.get("waiting_for", before.waiting_for),
                priority=Priority(values.get("priority", before.priority)),
                team=values.get("team", before.team),
                assignee=values.get("assignee", before.assignee),
                updated_at=now,
                resolved_at=values.get("resolved_at", before.resolved_at),
            )
            self._now[before.id] = after
            if "state" in values:
                self._items.append(("state", after, before.state))
        eid = self.conn.execute(
            _INSERT_EVENT,
            {
                "demand_id": before.id,
                "stage": str(st),
                "channel": channel or before.channel,
                "actor": str(actor),
                "kind": kind,
                "customer_sees": customer_sees,
                "behind_scenes": behind_scenes,
                "effort": effort,
                "at": now,
                "external_ref": external_ref,
                **rows.identity_columns(by, on_behalf_of),
            },
        ).inserted_primary_key[0]  # type: ignore[index]
        ev = JourneyEvent(
            id=eid,
            demand_id=before.id,
            stage=st,
            channel=channel or before.channel,
            actor=str(actor),
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=effort,
            at=now,
            kind=kind,
            external_ref=external_ref,
            by=by,
            on_behalf_of=on_behalf_of,
        )
        self._items.append(("event", after, (ev, st != before.stage)))
        return ev

    def note(
        self,
        demand_id: int,
        *,
        channel: str | None = None,
        actor: str = Actor.SYSTEM,
        customer_sees: str = "",
        behind_scenes: str = "",
        kind: str = "note",
        at: datetime | None = None,
    ) -> None:
        """An event where the demand is now (a message sent), moving nothing, without reading the demand first.

        What a job that only tells the customer records: the stage comes from the demand
        row as the event is written, so a notification sent by one process while another
        moved the demand is not recorded at a stage the demand has left. The demand is read
        only when a hook will be given it.
        """
        now = at or self._ctx.clock()
        by = _by(str(actor))
        params = {
            "b_id": demand_id,
            "b_channel": channel,
            "b_actor": str(actor),
            "b_login": by.login if by else None,
            "b_name": by.name if by else None,
            "b_kind": kind,
            "b_sees": customer_sees,
            "b_behind": behind_scenes,
            "b_at": now,
        }
        if not self._journey.observed():
            self.conn.execute(_INSERT_NOTE, params)
            return
        eid, stage = self.conn.execute(_INSERT_NOTE_RETURNING, params).one()
        demand = self.demand(demand_id)
        ev = JourneyEvent(
            id=eid,
            demand_id=demand_id,
            stage=Stage(stage),
            channel=channel or demand.channel,
            actor=str(actor),
            customer_sees=customer_sees,
            behind_scenes=behind_scenes,
            effort=0,
            at=now,
            kind=kind,
            by=by,
        )
        self._items.append(("event", demand, (ev, False)))

    def _conflict(self, before: Demand, target: DemandState | None) -> None:
        row = self.conn.execute(_SELECT_DEMAND, {"b_id": before.id}).first()
        if row is None:
            raise NotFound(f"unknown demand {before.id}")
        now = rows.demand(row)
        self._now[before.id] = now
        if target is not None and target not in now.allowed_next():
            raise IllegalTransition(before.id, now.kind, now.state, target)
        raise Conflict(
            f"demand {before.id} was changed meanwhile: it is now {now.state}, no longer {before.state};"
            f" allowed next: {', '.join(sorted(now.allowed_next())) or 'none (it is final)'}",
            state=str(now.state),
            allowed=now.allowed_next(),
        )

    def after(self, call: Callable[[], None]) -> None:
        """Run ``call`` after commit, in order with the hooks (e.g. another hook about this change)."""
        self._items.append(("call", None, call))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ after commit

    def fire(self) -> None:
        """Call the hooks for everything this change did; only after its transaction committed."""
        items, self._items = self._items, []
        if not items:
            return
        queue = _FIRING.get()
        if queue is not None:  # made by a hook of another change: reported once that one's hooks are done
            queue.append((self, items))
            return
        queue = [(self, items)]
        token = _FIRING.set(queue)
        try:
            while queue:
                change, pending = queue.pop(0)
                change._call_hooks(pending)
        finally:
            _FIRING.reset(token)

    def _call_hooks(self, items: list[_Item]) -> None:
        host, desk = self._ctx.host, self._ctx.desk
        received = host.implemented("itsm_demand_received")
        states = host.implemented("itsm_demand_state_changed")
        events = host.implemented("itsm_event_recorded")
        stages = host.implemented("itsm_stage_entered")
        handlers: dict[int, Any] = {}
        for what, demand, extra in items:
            if what == "call":
                extra()
                continue
            if what == "received":
                wanted = received
            elif what == "state":
                wanted = states
            else:
                wanted = events or (stages and extra[1])
            if not wanted:  # nobody listens: nothing to build
                continue
            on_error = handlers.get(demand.id)
            if on_error is None:
                on_error = handlers[demand.id] = self._ctx.on_error(demand.id)
            with log_context(demand_id=demand.id):
                if what == "received":
                    host.demand_received(desk, demand, on_error)
                elif what == "state":
                    host.demand_state_changed(desk, demand, extra, on_error)
                else:
                    ev, entered = extra
                    if events:
                        host.event_recorded(desk, demand, ev, on_error)
                    if entered and stages:
                        host.stage_entered(desk, demand, ev, on_error)

    def demands(self) -> Mapping[int, Demand]:
        """Each demand this change touched, as it left it."""
        return dict(self._now)


class Journey:
    """Hands out :class:`Change` objects; the one door to a demand's state, stage and journey."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def observed(self) -> bool:
        """Whether any plugin wants journey events (else their ids need not come back)."""
        host = self.ctx.host
        return host.implemented("itsm_event_recorded") or host.implemented("itsm_stage_entered")

    @contextmanager
    def begin(self) -> Iterator[Change]:
        """A transaction and its change; the hooks are called after it commits, never on rollback."""
        with self.ctx.engine.begin() as conn:
            change = Change(self, conn)
            yield change
        change.fire()

    def join(self, conn: Connection) -> Change:
        """A change inside the caller's transaction; the caller calls :meth:`Change.fire` after commit."""
        return Change(self, conn)
