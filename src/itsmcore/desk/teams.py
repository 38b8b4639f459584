"""Teams and assignment: who owns each demand, the team's queue by what breaches first, and the workload.

A team (``[teams.KEY]``) has members: the directory's members of its ``group`` and those
it lists. At intake ``itsm_assign`` gives each demand a team and perhaps an agent
(:meth:`Teams.decide`); an agent reassigns it with a reason (:meth:`Teams.assign`), on the
journey behind the scenes. The queue orders a team's open work by the service-level
clock that falls due first (breached ones at the top), then by priority and age.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import ColumnElement, Connection, Select, bindparam, exists, func, literal, select, union_all

from ..components import Intake as IntakeRecord
from ..config import did_you_mean
from ..errors import Conflict, InvalidInput, NotInTeam, UnknownTeam
from ..logs import log_context
from ..model import Actor, Assignment, Demand, DemandState, Service
from ..store import rows
from ..store import tables as t
from .context import Context
from .customers import Customers
from .journey import Journey

#: States in which a demand is work for its team: not yet done (or waiting for the customer to confirm).
WORK_STATES = (
    DemandState.NEW,
    DemandState.AWAITING_APPROVAL,
    DemandState.IN_FULFILMENT,
    DemandState.STUCK,
    DemandState.IN_PROGRESS,
)
_WORK = [str(s) for s in WORK_STATES]

#: How long a team's members, read from the directory, are kept before they are read again.
MEMBERS_TTL = 60.0

_D = t.demands.c
_C = t.service_level_clocks.c


def _shown(limit: int) -> int:
    """How many of a queue one read gives: 1 to 500."""
    return max(1, min(int(limit), 500))


@functools.cache
def _queue_statements(by_team: bool, by_agent: bool) -> tuple[Select[Any], Select[Any]]:
    """The queue's two reads for one shape of question, built once: the demands with a running
    clock by the time it falls due, then the rest by priority and age (``b_team``, ``b_agent``,
    ``b_limit`` bound at each call)."""
    mine: list[ColumnElement[bool]] = [_D.state.in_(_WORK)]
    if by_team:
        mine.append(_D.team == bindparam("b_team"))
    if by_agent:
        mine.append(_D.assignee == bindparam("b_agent"))
    timed = (
        select(
            t.demands,
            _C.due_at.label("clock_due"),
            _C.metric.label("clock_metric"),
            _C.breached_at.label("clock_breached"),
        )
        .select_from(t.service_level_clocks.join(t.demands, _D.id == _C.demand_id))
        .where(_C.state == "running", *mine)
        .order_by(_C.due_at, _C.demand_id)
        .limit(bindparam("b_limit"))
    )
    running = exists().where(_C.demand_id == _D.id, _C.state == "running")
    rest = (
        select(t.demands).where(*mine, ~running).order_by(_D.priority, _D.created_at, _D.id).limit(bindparam("b_limit"))
    )
    return timed, rest


@attrs.frozen(kw_only=True)
class TeamView:
    """A team as the desk shows it: its key, name, lead and members (directory ids)."""

    key: str
    name: str
    description: str
    lead: str | None
    group: str | None
    members: tuple[str, ...]


@attrs.frozen(kw_only=True)
class QueueItem:
    """One demand in a queue, with the clock that falls due first (``None``: no running clock)."""

    demand: Demand
    due_at: datetime | None = None
    metric: str | None = None
    breached: bool = False


@attrs.frozen(kw_only=True)
class AgentLoad:
    """One line of a team's workload: an agent (``None``: not assigned yet) and their open demands."""

    agent: str | None
    name: str
    open: int
    breached: int


@attrs.frozen(kw_only=True)
class TeamOverview:
    """What a team's page shows: the team, its queue, one agent's own work in it, and the workload."""

    team: TeamView
    queue: tuple[QueueItem, ...]
    mine: tuple[QueueItem, ...]
    workload: tuple[AgentLoad, ...]


@attrs.frozen(kw_only=True)
class Decision:
    """What assignment decided at intake: the team, the agent, the journey's wording, and failures to keep."""

    team: str | None
    agent: str | None
    note: str
    failures: tuple[tuple[str, str, BaseException], ...] = ()


class Teams:
    """Teams, their members, assignment at intake and by hand, queues and workloads."""

    def __init__(self, ctx: Context, customers: Customers, journey: Journey):
        self.ctx = ctx
        self.customers = customers
        self.journey = journey
        self._members: dict[str, tuple[float, tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ teams and members

    def check(self, key: str) -> str:
        """``key`` if it is a team; :class:`UnknownTeam` with a close match otherwise."""
        if key not in self.ctx.config.teams:
            raise UnknownTeam(f"unknown team {key!r}; {did_you_mean(key, self.ctx.config.teams)}")
        return key

    def members(self, key: str) -> tuple[str, ...]:
        """The directory ids of the team's agents: its group's members and those it lists, sorted."""
        settings = self.ctx.config.teams[self.check(key)]
        cached = self._members.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < MEMBERS_TTL:
            return cached[1]
        found = set(settings.members)
        if settings.group:
            found.update(c.id for c in self.customers.all() if settings.group in c.groups)
        members = tuple(sorted(found))
        self._members[key] = (now, members)
        return members

    def view(self, key: str) -> TeamView:
        settings = self.ctx.config.teams[self.check(key)]
        return TeamView(
            key=key,
            name=settings.name or key,
            description=settings.description,
            lead=settings.lead or None,
            group=settings.group or None,
            members=self.members(key),
        )

    def listing(self) -> list[TeamView]:
        return [self.view(k) for k in self.ctx.config.teams]

    def require_member(self, team: str, agent: str) -> None:
        members = self.members(team)
        if agent not in members:
            name = self.ctx.config.teams[team].name or team
            listing = ", ".join(members) if members else "none (give it a group or members)"
            raise NotInTeam(f"{agent!r} is not in team {team} ({name}); its members: {listing}")

    def home_team(self, service: Service | None) -> str | None:
        """The team a demand for ``service`` belongs to: the service's, else the default team, else none."""
        if service is not None and service.team:
            return service.team
        return self.ctx.config.assignment.default_team or None

    # ------------------------------------------------------------------ at intake

    def decide(self, intake: IntakeRecord, service: Service | None, priority: int) -> Decision:
        """Ask ``itsm_assign``; check what it says; fall back to the service's team if it fails."""
        ctx = self.ctx
        failures: list[tuple[str, str, BaseException]] = []
        decided = ctx.host.assign(ctx.desk, intake, service, priority, lambda p, h, e: failures.append((p, h, e)))
        if decided is not None and not failures:  # after a failure, the service's team decides (below)
            plugin, chosen = decided
            try:
                if not isinstance(chosen, Assignment):
                    raise InvalidInput(f"itsm_assign returned {chosen!r}; expected an Assignment or None")
                self.check(chosen.team)
                if chosen.agent:
                    self.require_member(chosen.team, chosen.agent)
            except (UnknownTeam, NotInTeam, InvalidInput) as e:
                failures.append((plugin, "itsm_assign", e))
            else:
                to = f"team {chosen.team}" + (f", agent {chosen.agent}" if chosen.agent else "")
                why = f": {chosen.reason}" if chosen.reason else ""
                return Decision(
                    team=chosen.team,
                    agent=chosen.agent or None,
                    note=f"assigned to {to} by {plugin}{why}",
                    failures=tuple(failures),
                )
        home = self.home_team(service)
        if failures:
            to = f"team {home} (the service's team)" if home else "no team"
            return Decision(team=home, agent=None, note=f"assigned to {to}", failures=tuple(failures))
        if home is None:
            return Decision(team=None, agent=None, note="")
        return Decision(team=home, agent=None, note=f"assigned to team {home}")

    # ------------------------------------------------------------------ by hand

    def assign(
        self,
        demand_id: int,
        *,
        team: str | None = None,
        agent: str | None = None,
        reason: str,
        actor: str = Actor.AGENT,
    ) -> Demand:
        """Give a demand to another team or agent (``agent=""`` takes it off its agent); the reason is kept."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("say why it is reassigned: the reason is kept on the demand's journey")
        if team is None and agent is None:
            raise InvalidInput("say who takes the demand: a team, an agent, or both")
        if team is not None:
            self.check(team)
        with log_context(demand_id=demand_id):
            with self.journey.begin() as change:
                demand = change.demand(demand_id)
                if not demand.is_open:
                    raise Conflict(f"demand {demand_id} is {demand.state}; nobody works on it now", state=demand.state)
                to_team = team if team is not None else demand.team
                if agent:
                    if to_team is None:
                        raise InvalidInput(f"demand {demand_id} has no team: give it one with the agent")
                    self.require_member(to_team, agent)
                # a new team without a named agent: the demand waits in the new team's queue
                to_agent = (
                    (agent or None) if agent is not None else (demand.assignee if team in (None, demand.team) else None)
                )
                if to_team == demand.team and to_agent == demand.assignee:
                    raise Conflict(
                        f"demand {demand_id} is with team {to_team}"
                        + (f", agent {to_agent}" if to_agent else "")
                        + " already",
                        state=str(demand.state),
                    )
                was = f"team {demand.team or '(none)'}, agent {demand.assignee or '(none)'}"
                now = f"team {to_team or '(none)'}, agent {to_agent or '(none)'}"
                change.record(
                    demand,
                    team=to_team,
                    assignee=to_agent,
                    actor=actor,
                    behind_scenes=f"reassigned by {actor} from {was} to {now}: {reason}",
                    kind="assignment",
                )
            return change.demands()[demand_id]

    # ------------------------------------------------------------------ queues

    def queue(self, team: str | None = None, *, agent: str | None = None, limit: int = 50) -> list[QueueItem]:
        """Open work of a team (or an agent's, or both), what breaches first at the top.

        First the demands with a running service-level clock, by the time it falls due
        (those past it, breached, first); then the rest by priority and age. Two indexed
        reads, however many demands are open.
        """
        if team is not None:
            self.check(team)
        if team is None and agent is None:
            raise InvalidInput("say whose queue: a team, an agent, or both")
        with self.ctx.reads.connect() as conn:
            return self._queue(conn, team, agent, _shown(limit))

    def _queue(self, conn: Connection, team: str | None, agent: str | None, limit: int) -> list[QueueItem]:
        timed, rest = _queue_statements(team is not None, agent is not None)
        params = {"b_team": team, "b_agent": agent}
        out: list[QueueItem] = []
        seen: set[int] = set()
        now = self.ctx.clock()
        # a demand has at most two clocks: twice ``limit`` rows are enough for ``limit`` demands
        for r in conn.execute(timed, {**params, "b_limit": 2 * limit}):
            if r.id in seen:
                continue
            seen.add(r.id)
            due = rows.aware(r.clock_due)
            out.append(
                QueueItem(
                    demand=rows.demand(r),
                    due_at=due,
                    metric=r.clock_metric,
                    breached=r.clock_breached is not None or (due is not None and due <= now),
                )
            )
            if len(out) == limit:
                return out
        more = conn.execute(rest, {**params, "b_limit": limit - len(out)})
        out.extend(QueueItem(demand=rows.demand(r)) for r in more if r.id not in seen)
        return out

    def workload(self, team: str) -> list[AgentLoad]:
        """Each member's open demands in the team (and the team's unassigned ones), with those breached."""
        members = self.members(team)
        with self.ctx.reads.connect() as conn:
            return self._workload(conn, team, members)

    def overview(self, team: str, *, agent: str | None = None, limit: int = 50) -> TeamOverview:
        """A team's queue, ``agent``'s own work in it and the workload, read together.

        What a team's page shows at once, over one connection: one trip to the store's pool
        rather than three, and the agent's work left out (empty) when the agent is not in
        the team. (Counting the workload on a second connection beside the queue's reads was
        measured: no faster on two cores, and more work.)
        """
        view = self.view(team)
        limit = _shown(limit)
        with self.ctx.reads.connect() as conn:
            queue = self._queue(conn, team, None, limit)
            mine = self._queue(conn, team, agent, limit) if agent and agent in view.members else []
            workload = self._workload(conn, team, view.members)
        return TeamOverview(team=view, queue=tuple(queue), mine=tuple(mine), workload=tuple(workload))

    def _workload(self, conn: Connection, team: str, members: Sequence[str]) -> list[AgentLoad]:
        # two counts in one statement, each from an index: the open ones by (team, state, assignee),
        # the breached ones from the few breached clocks (a partial index) to their demands; not a
        # look at every open demand's clocks, which a team with 25,000 open demands pays on every page
        mine = (_D.team == team, _D.state.in_(_WORK))
        open_q = (
            select(literal(0).label("what"), _D.assignee, func.count().label("n")).where(*mine).group_by(_D.assignee)
        )
        breached_q = (
            select(literal(1).label("what"), _D.assignee, func.count(func.distinct(_D.id)).label("n"))
            .select_from(t.service_level_clocks.join(t.demands, _D.id == _C.demand_id))
            .where(_C.breached_at.is_not(None), *mine)
            .group_by(_D.assignee)
        )
        opened: dict[str | None, int] = {}
        breached: dict[str | None, int] = {}
        for what, agent, n in conn.execute(union_all(open_q, breached_q)):
            (breached if what else opened)[agent] = int(n)
        counts = {a: (n, breached.get(a, 0)) for a, n in opened.items()}
        out = [
            AgentLoad(
                agent=m,
                name=self.customers.display(m),
                open=counts.get(m, (0, 0))[0],
                breached=counts.get(m, (0, 0))[1],
            )
            for m in members
        ]
        for agent, (n, b) in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
            if agent is not None and agent not in members:  # left the team, still holds work
                out.append(AgentLoad(agent=agent, name=self.customers.display(agent), open=n, breached=b))
        n, b = counts.get(None, (0, 0))
        out.append(AgentLoad(agent=None, name="(not assigned)", open=n, breached=b))
        return out

    def open_counts(self, team: str, agents: Sequence[str]) -> dict[str, int]:
        """Open demands per agent in the team (0 for those with none): what ``least_open_work`` compares."""
        q = (
            select(_D.assignee, func.count())
            .where(_D.team == team, _D.state.in_(_WORK), _D.assignee.in_(bindparam("b_agents", expanding=True)))
            .group_by(_D.assignee)
        )
        with self.ctx.reads.connect() as conn:
            found = {r[0]: int(r[1]) for r in conn.execute(q, {"b_agents": list(agents)})} if agents else {}
        return {a: found.get(a, 0) for a in agents}


__all__ = [
    "WORK_STATES",
    "AgentLoad",
    "Decision",
    "NotInTeam",
    "QueueItem",
    "TeamOverview",
    "TeamView",
    "Teams",
    "UnknownTeam",
]
